"""`meshctl audit verify|find`, run through argparse: exit 0 intact, 1 bad log, 2 usage."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from certs.ca import Issued
from control_plane.audit_cli import add_commands
from mesh.audit import AuditLog, MemoryCheckpointSink
from mesh.v1 import audit_pb2
from tests.support.badcerts import MeshPKI
from tests.unit.audit.conftest import SampleLog
from tests.unit.audit.logs import PEER, edit_json, lines_of, record, running, settings, write_lines


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meshctl")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture
def bundle(tmp_path: Path, pki: MeshPKI) -> Path:
    path = tmp_path / "bundle.pem"
    path.write_bytes(pki.bundle_pem)
    return path


@pytest.fixture
def witness(tmp_path: Path, sample_log: SampleLog) -> Path:
    path = tmp_path / "checkpoints.json"
    message = audit_pb2.AuditCheckpoints(checkpoints=sample_log.witness)
    path.write_text(json_format.MessageToJson(message))
    return path


def test_verify_intact_log_exits_0(
    sample_log: SampleLog, bundle: Path, witness: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An intact log with bundle and witness: exit 0, a one-line summary, nothing on stderr."""
    code = _run(["audit", "verify", str(sample_log.path), "--bundle", str(bundle), "--checkpoints", str(witness)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "intact" in out and "12 records" in out and "3 witness checkpoints matched" in out
    assert err == ""


def test_verify_without_bundle_or_witness_warns(sample_log: SampleLog, capsys: pytest.CaptureFixture[str]) -> None:
    """Offline verification still exits 0 but warns about what it could not check."""
    assert _run(["audit", "verify", str(sample_log.path)]) == 0
    err = capsys.readouterr().err
    assert "warning: no trust bundle" in err and "warning: no witness" in err


def test_verify_tampered_log_exits_1_naming_line_and_seq(
    log_copy: Path, bundle: Path, witness: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited record: exit 1 and `error: FILE: line L, seq S: altered: …` on stderr."""
    lines = lines_of(log_copy)
    lines[6] = edit_json(lines[6], purpose="marketing")
    write_lines(log_copy, lines)
    code = _run(["audit", "verify", str(log_copy), "--bundle", str(bundle), "--checkpoints", str(witness)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: {log_copy}: line 7, seq 5: altered:" in err


def test_verify_truncated_log_exits_1(
    log_copy: Path, bundle: Path, witness: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cut behind the witness's last checkpoint: exit 1, the missing seq named."""
    write_lines(log_copy, lines_of(log_copy)[:13])
    assert _run(["audit", "verify", str(log_copy), "--bundle", str(bundle), "--checkpoints", str(witness)]) == 1
    assert "seq 11: truncated" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify", "{missing}"],
        ["audit", "verify", "{log}", "--bundle", "{missing}"],
        ["audit", "verify", "{log}", "--checkpoints", "{log}"],
    ],
    ids=["missing log", "missing bundle", "checkpoints file is not JSON checkpoints"],
)
def test_verify_unreadable_input_exits_2(
    sample_log: SampleLog, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An input that cannot be read is a usage error (exit 2), not a verdict on the log."""
    args = [a.format(missing=tmp_path / "nope", log=sample_log.path) for a in argv]
    assert _run(args) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_verify_without_file_is_a_usage_error() -> None:
    """argparse refuses a missing FILE with exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        _run(["audit", "verify"])
    assert exit_info.value.code == 2


@pytest.fixture
def both_sides(tmp_path: Path, identity: Issued, pki: MeshPKI) -> list[Path]:
    """The consumer's and the provider's segments, each with exchange ex-shared among others."""
    async def write(directory: Path, who: Issued, side: str) -> Path:
        log = AuditLog(directory, lambda: who, MemoryCheckpointSink(), settings())
        async with running(log):
            log.append(record(1))
            log.append(record(2, exchange_id="ex-shared", side=side))
            log.append(record(3))
        assert log.path is not None
        return log.path

    async def both() -> list[Path]:
        return [await write(tmp_path / "kaigo", identity, "outbound"),
                await write(tmp_path / "juki", pki.issue(PEER), "inbound")]

    return asyncio.run(both())


def test_find_prints_both_sides_of_an_exchange(both_sides: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """One line per side, in file order, naming file:line, side and seq."""
    assert _run(["audit", "find", "--exchange", "ex-shared", *map(str, both_sides)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2
    assert rows[0].startswith(f"{both_sides[0]}:3  outbound")
    assert rows[1].startswith(f"{both_sides[1]}:3  inbound")
    assert all("seq=2" in row for row in rows)


def test_find_json_output_is_one_object_per_record(
    both_sides: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """-o json: one JSON object per line with file, line and the record."""
    assert _run(["audit", "find", "--exchange", "ex-shared", "-o", "json", *map(str, both_sides)]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["line"], o["record"]["side"]) for o in objects] == [(3, "AUDIT_SIDE_OUTBOUND"), (3, "AUDIT_SIDE_INBOUND")]
    assert {o["record"]["exchange_id"] for o in objects} == {"ex-shared"}


def test_find_unknown_exchange_exits_1(both_sides: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """No record of the exchange: exit 1 with an error line."""
    assert _run(["audit", "find", "--exchange", "ex-nowhere", *map(str, both_sides)]) == 1
    assert "no record of exchange ex-nowhere" in capsys.readouterr().err
