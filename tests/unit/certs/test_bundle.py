"""Identity and trust-bundle files: modes, atomic replacement, strict loading."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from certs.ca import Issued
from certs.bundle import check_key_file_mode, load_bundle, load_issued, write_bundle, write_identity
from tests.support.badcerts import MeshPKI


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def test_write_identity_creates_cert_and_0600_key(tmp_path: Path, good: Issued) -> None:
    """`<name>.crt` and `<name>.key` are written; the key is 0600."""
    cert_path, key_path = write_identity(tmp_path, "kaigo", good)
    assert (cert_path, key_path) == (tmp_path / "kaigo.crt", tmp_path / "kaigo.key")
    assert _mode(key_path) == 0o600
    assert cert_path.read_bytes() == good.chain_pem()
    assert key_path.read_bytes() == good.key_pem()


def test_key_is_0600_even_with_an_open_umask(tmp_path: Path, good: Issued) -> None:
    """The key is private whatever the umask: the mode is set at creation."""
    with _umask(0):
        _, key_path = write_identity(tmp_path, "kaigo", good)
    assert _mode(key_path) == 0o600


def test_key_mode_is_never_fixed_up_with_chmod(tmp_path: Path, good: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
    """No chmod after writing: the key is never briefly readable by others."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("chmod called")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)
    _, key_path = write_identity(tmp_path, "kaigo", good)
    assert _mode(key_path) == 0o600


def test_rewrite_replaces_a_loose_key_with_a_private_one(tmp_path: Path, good: Issued, pki: MeshPKI) -> None:
    """Rotation replaces the files whole; an old world-readable key does not lend its mode."""
    key_path = tmp_path / "kaigo.key"
    key_path.write_bytes(b"old")
    key_path.chmod(0o644)
    newer = pki.issue("spiffe://tsunagi.test/org/131008/sys/kaigo")
    write_identity(tmp_path, "kaigo", newer)
    assert _mode(key_path) == 0o600
    assert load_issued(tmp_path / "kaigo.crt", key_path).cert == newer.cert


def test_write_leaves_no_temporary_files(tmp_path: Path, good: Issued) -> None:
    """Only the two identity files remain after a write."""
    write_identity(tmp_path, "kaigo", good)
    write_identity(tmp_path, "kaigo", good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaigo.crt", "kaigo.key"]


def test_write_identity_creates_the_directory(tmp_path: Path, good: Issued) -> None:
    """A missing output directory is created."""
    cert_path, _ = write_identity(tmp_path / "a" / "b", "kaigo", good)
    assert cert_path.exists()


def test_identity_without_key_is_not_written(tmp_path: Path, good: Issued) -> None:
    """An Issued with no private key cannot be written, and nothing is left behind."""
    with pytest.raises(ValueError):
        write_identity(tmp_path, "kaigo", Issued(cert=good.cert, key=None, chain=good.chain))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "a b", "/abs"])
def test_unsafe_names_are_refused(tmp_path: Path, good: Issued, name: str) -> None:
    """A name that could escape the directory or hide the file is refused."""
    with pytest.raises(ValueError, match="name"):
        write_identity(tmp_path, name, good)


def test_load_issued_round_trips(tmp_path: Path, good: Issued) -> None:
    """What write_identity writes, load_issued reads back: cert, key and chain."""
    loaded = load_issued(*write_identity(tmp_path, "kaigo", good))
    assert loaded.cert == good.cert
    assert loaded.chain == good.chain
    assert loaded.key is not None and loaded.key_pem() == good.key_pem()


@pytest.mark.parametrize("mode", [0o604, 0o644, 0o660, 0o666, 0o620])
def test_load_issued_refuses_a_key_open_to_others(tmp_path: Path, good: Issued, mode: int) -> None:
    """A key file with any group or other permission is not used."""
    cert_path, key_path = write_identity(tmp_path, "kaigo", good)
    key_path.chmod(mode)
    with pytest.raises(ValueError, match="0600"):
        load_issued(cert_path, key_path)


def test_load_issued_refuses_a_key_of_another_certificate(tmp_path: Path, good: Issued, pki: MeshPKI) -> None:
    """A cert/key pair that does not match (e.g. a torn rotation) is refused."""
    cert_path, _ = write_identity(tmp_path, "a", good)
    _, other_key = write_identity(tmp_path, "b", pki.issue("spiffe://tsunagi.test/org/131008/sys/other"))
    with pytest.raises(ValueError, match="does not belong"):
        load_issued(cert_path, other_key)


def test_load_issued_refuses_a_garbage_key(tmp_path: Path, good: Issued) -> None:
    """A key file that is not a PEM private key is refused with ValueError."""
    cert_path, key_path = write_identity(tmp_path, "kaigo", good)
    key_path.write_bytes(b"not a key")
    with pytest.raises(ValueError, match="private key"):
        load_issued(cert_path, key_path)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_owner_only_modes_pass_the_key_check(tmp_path: Path, mode: int) -> None:
    """Modes without group/other bits are accepted."""
    path = tmp_path / "k.key"
    path.write_bytes(b"")
    path.chmod(mode)
    check_key_file_mode(path)


def test_key_check_refuses_a_directory(tmp_path: Path) -> None:
    """Only a regular file can be a key file."""
    directory = tmp_path / "k.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(ValueError, match="regular file"):
        check_key_file_mode(directory)


def test_bundle_round_trips(tmp_path: Path, pki: MeshPKI) -> None:
    """write_bundle concatenates PEM roots; load_bundle reads them back in order."""
    roots = [pki.root.cert, pki.intermediate.cert]
    path = write_bundle(tmp_path / "bundle.pem", roots)
    assert path.read_bytes() == pki.root.cert_pem() + pki.intermediate.cert_pem()
    assert load_bundle(path) == roots


def test_empty_bundle_is_refused(tmp_path: Path) -> None:
    """A bundle file without certificates is an error, never an empty trust set."""
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="no PEM certificates"):
        load_bundle(path)


def test_writing_an_empty_bundle_is_refused(tmp_path: Path) -> None:
    """write_bundle needs at least one root."""
    with pytest.raises(ValueError):
        write_bundle(tmp_path / "bundle.pem", [])


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o620, 0o660, 0o666])
def test_other_access_or_group_write_is_refused(tmp_path: Path, mode: int) -> None:
    """A key that others can read, or that the group can change, is refused."""
    path = tmp_path / "k.key"
    path.write_bytes(b"")
    path.chmod(mode)
    with pytest.raises(ValueError, match="group and other"):
        check_key_file_mode(path)


def test_group_read_passes_only_for_our_own_group(tmp_path: Path) -> None:
    """Kubernetes' root:fsGroup 0440 Secret files pass; another group's read does not."""
    import os

    path = tmp_path / "k.key"
    path.write_bytes(b"")
    path.chmod(0o440)
    check_key_file_mode(path)  # our group (the test runs as its file's owner)
    try:
        os.chown(path, -1, 12345)
    except PermissionError:
        pytest.skip("changing a file's group needs root")
    if 12345 in (os.getegid(), *os.getgroups()):
        pytest.skip("the test process is in group 12345")
    with pytest.raises(ValueError, match="group and other"):
        check_key_file_mode(path)
