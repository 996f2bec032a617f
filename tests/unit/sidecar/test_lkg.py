"""The last-known-good file: exact round trip, 0600, atomic replacement, and a tampered file
is refused by the same verification as etcd data; its journal is fsynced off the writer's
thread, within the interval."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sidecar.compile import SnapshotRejected
from sidecar.lkg import JournalSyncer, LastKnownGood, LkgUnreadable
from tests.support.resources import SERVICE, put, route
from tests.support.wait import wait_until
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


async def _changed(mesh: Mesh, timeout_s: float) -> tuple[dict[str, bytes], int, dict[str, bytes]]:
    """Apply a route change; (new values, revision, the keys it put)."""
    before, _ = await mesh.values()
    await mesh.writer.apply([put(route(timeout_s=timeout_s))])
    values, revision = await mesh.values()
    return values, revision, {k: v for k, v in values.items() if before.get(k) != v}


async def test_changes_are_journalled_and_replayed(mesh: Mesh, tmp_path: Path) -> None:
    """After a whole snapshot, each change is one journal record; the snapshot file is not
    rewritten, and loading replays the records onto it."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    snapshot_bytes = lkg.path.read_bytes()
    for timeout_s in (7.0, 8.0, 9.0):
        new, new_revision, puts = await _changed(mesh, timeout_s)
        lkg.record(new, new_revision, revision, puts, [])
        revision = new_revision
    assert lkg.path.read_bytes() == snapshot_bytes and lkg.journal.stat().st_size > 0
    assert stat.S_IMODE(os.stat(lkg.journal).st_mode) == 0o600
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and (dict(stored.values), stored.revision) == (new, revision)
    assert mesh.compile(stored.values).routes[SERVICE].timeout == 9.0


@pytest.mark.parametrize("damage", [
    lambda data: data[:-3],
    lambda data: data[:-1] + bytes([data[-1] ^ 1]),
    lambda data: data + b"\x00\x00\x00",
], ids=["cut-short", "bytes-changed", "trailing-garbage"])
async def test_a_torn_record_loads_as_the_config_before_it(
        mesh: Mesh, tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    """A crash mid-append (the last record cut short, or not the bytes written) leaves the
    config of the record before, whole; the next write does not append after the damage."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    first, first_revision, puts = await _changed(mesh, 7.0)
    lkg.record(first, first_revision, revision, puts, [])
    second, second_revision, puts = await _changed(mesh, 8.0)
    lkg.record(second, second_revision, first_revision, puts, [])
    lkg.journal.write_bytes(damage(lkg.journal.read_bytes()))
    reader = LastKnownGood(tmp_path)
    stored = reader.load()
    expected = (second, second_revision) if damage(b"ab") == b"ab\x00\x00\x00" else (first, first_revision)
    assert stored is not None and (dict(stored.values), stored.revision) == expected
    third, third_revision, puts = await _changed(mesh, 9.0)
    reader.record(third, third_revision, stored.revision, puts, [])
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and (dict(stored.values), stored.revision) == (third, third_revision)


async def test_the_journal_is_folded_into_the_snapshot_when_it_grows(
        mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the size of the snapshot (and the minimum), the next change rewrites the
    snapshot and empties the journal."""
    monkeypatch.setattr("sidecar.lkg.JOURNAL_MIN_BYTES", 0)
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    snapshot_size = lkg.path.stat().st_size
    rewrites = 0
    for i in range(40):  # bounded: the journal passes the snapshot's size well before
        before = lkg.path.read_bytes()
        new, new_revision, puts = await _changed(mesh, 5.0 + i)
        lkg.record(new, new_revision, revision, puts, [])
        revision = new_revision
        if lkg.path.read_bytes() != before:
            rewrites += 1
            assert lkg.journal.stat().st_size == 0
        assert lkg.journal.stat().st_size <= snapshot_size + 1024
        stored = LastKnownGood(tmp_path).load()
        assert stored is not None and stored.revision == revision
    assert rewrites >= 1


async def test_records_behind_a_newer_snapshot_are_skipped(mesh: Mesh, tmp_path: Path) -> None:
    """Killed after a new snapshot was renamed in but before the journal was emptied: the
    old records (at or below the snapshot's revision) are not replayed onto it."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    new, new_revision, puts = await _changed(mesh, 7.0)
    lkg.record(new, new_revision, revision, puts, [])
    journal = lkg.journal.read_bytes()
    lkg.save(new, new_revision)
    lkg.journal.write_bytes(journal)  # as if emptying it never happened
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and (dict(stored.values), stored.revision) == (new, new_revision)


async def test_a_record_that_does_not_follow_on_writes_a_snapshot(mesh: Mesh, tmp_path: Path) -> None:
    """A change from a revision this writer did not write last is saved whole."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    new, new_revision, puts = await _changed(mesh, 7.0)
    lkg.record(new, new_revision, revision - 1, puts, [])
    assert not lkg.journal.exists() or lkg.journal.stat().st_size == 0
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and (dict(stored.values), stored.revision) == (new, new_revision)


class TimedSyncs(LastKnownGood):
    """A LastKnownGood that records when each fsync of the journal ran (and can fail them)."""

    def __init__(self, state_dir: Path, fail: bool = False) -> None:
        super().__init__(state_dir)
        self.syncs: list[float] = []
        self.fail = fail

    def sync(self) -> None:
        self.syncs.append(time.monotonic())
        if self.fail:
            raise OSError(errno.EIO, "disk gone")
        super().sync()


def _appending(lkg: LastKnownGood, values: dict[str, bytes], revision: int) -> Callable[[], int]:
    """Appends one journal record per call (after a whole snapshot at `revision`); returns
    the revision it wrote."""
    lkg.save(values, revision)
    written = [revision]

    def append() -> int:
        key = next(iter(values))
        assert lkg.append(written[-1] + 1, written[-1], {key: values[key]}, ())
        written.append(written[-1] + 1)
        return written[-1]
    return append


def _stop(syncer: JournalSyncer) -> None:
    """Stop the syncer; its thread ends."""
    thread = syncer.stop()
    assert thread is not None
    thread.join(5.0)
    assert not thread.is_alive()


async def test_the_syncer_fsyncs_a_record_at_once_when_idle(mesh: Mesh, tmp_path: Path) -> None:
    """After a quiet interval, an appended record is fsynced at once, off the caller's thread,
    and survives a reload."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 60.0, lambda exc: None)
    revision = append()
    syncer.appended()
    wait_until(lambda: syncer.idle, timeout=5.0, what="fsynced")
    assert len(lkg.syncs) == 1
    thread = syncer.stop()
    assert thread is not None and thread is not threading.current_thread()
    thread.join(5.0)
    assert not thread.is_alive()
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and stored.revision == revision


async def test_the_spread_delays_an_fsync_by_the_random_share(mesh: Mesh, tmp_path: Path) -> None:
    """With a spread, even an idle syncer waits its random share of it before the fsync, and
    no longer."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 60.0, lambda exc: None, spread=0.4, rand=lambda: 0.75)
    append()
    appended_at = time.monotonic()
    syncer.appended()
    wait_until(lambda: syncer.idle, timeout=5.0, what="fsynced after its share of the spread")
    assert 0.3 * 0.99 <= lkg.syncs[0] - appended_at <= 0.3 + 0.5
    _stop(syncer)


async def test_records_in_quick_succession_share_one_fsync(mesh: Mesh, tmp_path: Path) -> None:
    """Records appended within the interval after an fsync share the next one, which comes
    no sooner than the interval and no later than it after they were appended."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    interval = 0.3
    syncer = JournalSyncer(lkg, interval, lambda exc: None)
    append()
    syncer.appended()
    wait_until(lambda: syncer.idle, timeout=5.0, what="first record fsynced")
    appended_at = time.monotonic()
    for _ in range(5):
        append()
        syncer.appended()
    assert not syncer.idle
    wait_until(lambda: syncer.idle, timeout=5.0, what="the five fsynced")
    assert len(lkg.syncs) == 2
    assert syncer.wakeups == 2  # once per fsync, not once per record
    assert lkg.syncs[1] - lkg.syncs[0] >= interval * 0.99
    assert lkg.syncs[1] - appended_at <= interval + 0.5
    _stop(syncer)


class BlockingSyncs(TimedSyncs):
    """TimedSyncs whose fsyncs wait for `release` (and say when one has started)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.started = threading.Event()
        self.release = threading.Event()

    def sync(self) -> None:
        self.started.set()
        assert self.release.wait(10.0)
        super().sync()


async def test_a_record_appended_during_an_fsync_gets_one_of_its_own(mesh: Mesh, tmp_path: Path) -> None:
    """A record appended while an fsync runs does not wake the thread (one is pending) and
    may not be covered by it: the thread schedules the next fsync itself."""
    lkg = BlockingSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 0.05, lambda exc: None)
    append()
    syncer.appended()
    assert lkg.started.wait(5.0)
    append()
    syncer.appended()
    lkg.release.set()
    wait_until(lambda: syncer.idle, timeout=5.0, what="the second record fsynced")
    assert len(lkg.syncs) == 2 and syncer.wakeups == 1
    _stop(syncer)


async def test_no_record_is_left_without_an_fsync_under_racing_appends(mesh: Mesh, tmp_path: Path) -> None:
    """Appends racing the thread's fsyncs (no interval: it syncs as fast as it can) never
    leave a record without one: the syncer always goes idle."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 0.0, lambda exc: None)
    for round_ in range(40):  # ~160 records: within what the journal takes
        for _ in range(round_ % 7 + 1):
            append()
            syncer.appended()
        if round_ % 10 == 9:
            wait_until(lambda: syncer.idle, timeout=5.0, what=f"idle after round {round_}")
    wait_until(lambda: syncer.idle, timeout=5.0, what="every record fsynced")
    assert lkg.syncs
    _stop(syncer)


async def test_a_started_syncer_takes_the_first_record_without_starting_a_thread(
        mesh: Mesh, tmp_path: Path) -> None:
    """start() runs the thread before any record (the sidecar calls it as its config client
    starts); the first record then only wakes it, and it does its fsync."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 60.0, lambda exc: None)
    before = threading.active_count()
    syncer.start()
    syncer.start()  # idempotent
    assert threading.active_count() == before + 1 and syncer.idle and not lkg.syncs
    started = {t.ident for t in threading.enumerate()}
    append()
    syncer.appended()
    assert {t.ident for t in threading.enumerate()} == started
    wait_until(lambda: syncer.idle, timeout=5.0, what="fsynced by the started thread")
    assert len(lkg.syncs) == 1 and syncer.wakeups == 1
    _stop(syncer)


async def test_stopping_fsyncs_what_is_pending(mesh: Mesh, tmp_path: Path) -> None:
    """A record still waiting for its interval is fsynced when the syncer stops, at once,
    and the thread ends; a later record starts a new thread."""
    lkg = TimedSyncs(tmp_path)
    append = _appending(lkg, *(await mesh.values()))
    syncer = JournalSyncer(lkg, 60.0, lambda exc: None)
    append()
    syncer.appended()
    wait_until(lambda: syncer.idle, timeout=5.0, what="first record fsynced")
    append()
    syncer.appended()
    thread = syncer.stop()
    assert thread is not None
    thread.join(5.0)
    assert not thread.is_alive() and syncer.idle and len(lkg.syncs) == 2
    append()
    syncer.appended()
    wait_until(lambda: syncer.idle, timeout=5.0, what="fsynced by a new thread")
    assert len(lkg.syncs) == 3
    again = syncer.stop()
    assert again is not None and again is not thread
    again.join(5.0)


async def test_a_failed_fsync_is_reported(mesh: Mesh, tmp_path: Path) -> None:
    """An fsync that fails is handed to on_error, and the syncer carries on."""
    lkg = TimedSyncs(tmp_path, fail=True)
    append = _appending(lkg, *(await mesh.values()))
    errors: list[OSError] = []
    syncer = JournalSyncer(lkg, 60.0, errors.append)
    append()
    syncer.appended()
    wait_until(lambda: bool(errors), timeout=5.0, what="failure reported")
    assert errors[0].errno == errno.EIO and syncer.idle
    _stop(syncer)


async def test_sync_on_another_thread_races_appends_and_snapshots(mesh: Mesh, tmp_path: Path) -> None:
    """sync may run on its own thread while the writer appends and replaces the journal (a
    whole snapshot closes it): it syncs a duplicate descriptor, so it never fails on a closed
    one, and what loads is the last state written."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    append = _appending(lkg, values, revision)
    stop = threading.Event()
    failures: list[BaseException] = []

    def syncing() -> None:
        for _ in range(100_000):  # bounded; ends when the writer is done
            if stop.is_set():
                return
            try:
                lkg.sync()
            except BaseException as exc:  # noqa: BLE001 - the test reports any failure
                failures.append(exc)
                return

    thread = threading.Thread(target=syncing)
    thread.start()
    try:
        for round_ in range(30):
            for _ in range(5):
                last = append()
            if round_ % 3 == 2:
                lkg.save(values, last)  # closes and empties the journal
    finally:
        stop.set()
        thread.join(10.0)
    assert not failures and not thread.is_alive()
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and stored.revision == last
