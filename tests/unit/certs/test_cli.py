"""`meshctl ca init|issue|inspect`, run through argparse in a temporary directory."""

from __future__ import annotations

import argparse
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from certs.bundle import load_bundle, load_issued
from certs.ca import trust_domain_of
from certs.cli import add_commands
from certs.verify import identity_from_certificate, verify_chain

GOOD_ID = "spiffe://tsunagi.test/org/131008/sys/kaigo"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meshctl")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def ca_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ca"
    assert _run(["ca", "init", "--dir", str(directory), "--trust-domain", "tsunagi.test"]) == 0
    return directory


def test_init_writes_root_intermediate_and_bundle(ca_dir: Path) -> None:
    """init leaves root and intermediate (keys 0600) and a bundle holding only the root."""
    names = sorted(p.name for p in ca_dir.iterdir())
    assert names == ["bundle.pem", "intermediate.crt", "intermediate.key", "root.crt", "root.key"]
    assert _mode(ca_dir / "root.key") == 0o600
    assert _mode(ca_dir / "intermediate.key") == 0o600
    root = load_issued(ca_dir / "root.crt", ca_dir / "root.key")
    intermediate = load_issued(ca_dir / "intermediate.crt", ca_dir / "intermediate.key")
    assert load_bundle(ca_dir / "bundle.pem") == [root.cert]
    intermediate.cert.verify_directly_issued_by(root.cert)
    assert trust_domain_of(intermediate.cert) == "tsunagi.test"


def test_init_refuses_to_replace_an_existing_ca(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second init in the same directory fails and leaves the root key untouched."""
    before = (ca_dir / "root.key").read_bytes()
    capsys.readouterr()
    assert _run(["ca", "init", "--dir", str(ca_dir)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (ca_dir / "root.key").read_bytes() == before


@pytest.mark.parametrize("trust_domain", ["TSUNAGI.test", "td/x", ""])
def test_init_rejects_a_bad_trust_domain_as_usage_error(tmp_path: Path, trust_domain: str) -> None:
    """An invalid --trust-domain is a usage error (exit 2) and writes nothing."""
    with pytest.raises(SystemExit) as caught:
        _run(["ca", "init", "--dir", str(tmp_path / "ca"), "--trust-domain", trust_domain])
    assert caught.value.code == 2
    assert not (tmp_path / "ca").exists()


def test_issue_writes_a_verifiable_workload_identity(ca_dir: Path, tmp_path: Path) -> None:
    """issue writes <name>.crt/.key and the bundle; the identity verifies end to end."""
    out = tmp_path / "out"
    assert _run(["ca", "issue", "--dir", str(ca_dir), "--spiffe-id", GOOD_ID, "--out", str(out),
                 "--name", "kaigo", "--ttl", "30m"]) == 0
    issued = load_issued(out / "kaigo.crt", out / "kaigo.key")
    roots = load_bundle(out / "bundle.pem")
    verify_chain(issued.cert, list(issued.chain), roots)
    assert str(identity_from_certificate(issued.cert, "tsunagi.test")) == GOOD_ID
    lifetime = issued.cert.not_valid_after_utc - issued.cert.not_valid_before_utc
    assert lifetime == timedelta(minutes=35)  # 30m plus the 5 min backdating
    assert _mode(out / "kaigo.key") == 0o600


def test_issue_defaults_to_24h_and_the_name_workload(ca_dir: Path, tmp_path: Path) -> None:
    """Without --name and --ttl the files are workload.{crt,key} and the cert lives 24 h."""
    assert _run(["ca", "issue", "--dir", str(ca_dir), "--spiffe-id", GOOD_ID, "--out", str(tmp_path)]) == 0
    issued = load_issued(tmp_path / "workload.crt", tmp_path / "workload.key")
    lifetime = issued.cert.not_valid_after_utc - issued.cert.not_valid_before_utc
    assert lifetime == timedelta(hours=24, minutes=5)


@pytest.mark.parametrize(
    ("spiffe_id", "message"),
    [
        ("spiffe://tsunagi.test/org/131008/sys/kaigo/", "invalid SPIFFE ID"),
        ("spiffe://other.test/org/131008/sys/kaigo", "trust domain"),
    ],
)
def test_issue_refuses_a_bad_id(
    ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], spiffe_id: str, message: str
) -> None:
    """A malformed or foreign ID exits 1 with `error: ...` and writes no identity."""
    out = tmp_path / "out"
    assert _run(["ca", "issue", "--dir", str(ca_dir), "--spiffe-id", spiffe_id, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_issue_rejects_a_bad_ttl_as_usage_error(ca_dir: Path, tmp_path: Path) -> None:
    """--ttl that is not a duration is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as caught:
        _run(["ca", "issue", "--dir", str(ca_dir), "--spiffe-id", GOOD_ID, "--out", str(tmp_path), "--ttl", "1 day"])
    assert caught.value.code == 2


def test_issue_without_a_ca_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pointing issue at a directory with no CA exits 1 with a message."""
    assert _run(["ca", "issue", "--dir", str(tmp_path), "--spiffe-id", GOOD_ID, "--out", str(tmp_path / "o")]) == 1
    assert "cannot load the CA" in capsys.readouterr().err


def test_inspect_shows_identity_fields(ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """inspect prints subject, SANs, validity, CA flag and SPIFFE ID for each certificate."""
    _run(["ca", "issue", "--dir", str(ca_dir), "--spiffe-id", GOOD_ID, "--out", str(tmp_path)])
    capsys.readouterr()
    assert _run(["ca", "inspect", str(tmp_path / "workload.crt")]) == 0
    out = capsys.readouterr().out
    assert "certificate 1 of 2" in out and "certificate 2 of 2" in out
    for fragment in ("subject:", "not before:", "not after:", f"URI:{GOOD_ID}", f"SPIFFE ID:  {GOOD_ID}",
                     "CA:         no", "CA:         yes (pathLen 0)", "DNS:s"):
        assert fragment in out


def test_inspect_refuses_a_non_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file without certificates exits 1 with an error on stderr."""
    path = tmp_path / "x.pem"
    path.write_text("nothing here")
    assert _run(["ca", "inspect", str(path)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
