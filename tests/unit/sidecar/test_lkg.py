"""The last-known-good file: exact round trip, 0600, atomic replacement, and a tampered file
is refused by the same verification as etcd data."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sidecar.compile import SnapshotRejected
from sidecar.lkg import LastKnownGood, LkgUnreadable
from tests.support.resources import SERVICE, put, route
from tests.unit.sidecar.conftest import Mesh


async def test_round_trip_keeps_the_exact_bytes_and_revision(mesh: Mesh, tmp_path: Path) -> None:
    """What is saved loads back byte for byte, and compiles to the same snapshot."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    stored = lkg.load()
    assert stored is not None
    assert dict(stored.values) == values and stored.revision == revision
    assert mesh.compile(stored.values, revision=stored.revision) == mesh.compile(values, revision=revision)


def test_no_file_loads_as_none(tmp_path: Path) -> None:
    """A sidecar that never applied a config has no last-known-good."""
    assert LastKnownGood(tmp_path).load() is None


async def test_the_file_is_private(mesh: Mesh, tmp_path: Path) -> None:
    """The file is created 0600 and no temp file is left beside it."""
    lkg = LastKnownGood(tmp_path)
    lkg.save(*(await mesh.values()))
    assert stat.S_IMODE(os.stat(lkg.path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["lkg.bin"]


async def test_a_tampered_file_is_refused(mesh: Mesh, tmp_path: Path) -> None:
    """Editing a value inside the file makes the loaded config fail verification."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    data = bytearray(lkg.path.read_bytes())
    at = data.find(SERVICE.encode())
    data[at] ^= 0x20  # "test.Echo" -> "Test.Echo" inside a signed payload
    lkg.path.write_bytes(bytes(data))
    stored = lkg.load()
    assert stored is not None
    with pytest.raises(SnapshotRejected):
        mesh.compile(stored.values, revision=stored.revision)


def test_a_file_that_is_not_a_snapshot_is_unreadable(tmp_path: Path) -> None:
    """Garbage is reported as unreadable, never half-loaded."""
    lkg = LastKnownGood(tmp_path)
    lkg.path.write_bytes(b"\xff\xff\xff\xff")
    with pytest.raises(LkgUnreadable):
        lkg.load()


async def test_a_crash_before_the_rename_leaves_the_old_file(
    mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between writing and renaming, the file is wholly the old config."""
    old_values, old_revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(old_values, old_revision)
    await mesh.writer.apply([put(route(timeout_s=9.0))])
    new_values, new_revision = await mesh.values()

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        lkg.save(new_values, new_revision)
    monkeypatch.undo()
    stored = lkg.load()
    assert stored is not None
    assert (dict(stored.values), stored.revision) == (old_values, old_revision)
    assert [p.name for p in tmp_path.iterdir()] == ["lkg.bin"]
    lkg.save(new_values, new_revision)
    stored = lkg.load()
    assert stored is not None and mesh.compile(stored.values).version == 2
