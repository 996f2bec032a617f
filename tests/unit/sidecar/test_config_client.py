"""The config client on a MemoryStore (the sidecar's read-only view): it applies what
verifies, keeps serving on rejection, never goes back a version, resumes a broken watch at the
next revision, lists again after compaction, and starts from the last-known-good file."""

from __future__ import annotations

import asyncio
import time
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mesh.keys import resource_key
from mesh.store.base import Compare, Delete, Event, KeyValue, Op, Put, TxnResult, WatchBatch
from mesh.store.errors import StoreUnavailable
from mesh.store.memory import MemoryStore
from sidecar.config_client import Backoff, ConfigClient, _Change, _Ended, _gathered, _merged
from sidecar.lkg import LastKnownGood
from sidecar.snapshot import Snapshot
from tests.support.resources import CONSUMER_ID, SERVICE, put, route
from tests.support.wait import async_wait_until
from tests.unit.sidecar.conftest import Mesh

FAST = Backoff(initial=0.001, cap=0.01)


class FlakyStore:
    """A read-only store whose first `range_failures` lists fail, and whose watches break
    (StoreUnavailable) after the numbers of batches in `watch_breaks`, in order."""

    def __init__(self, inner: MemoryStore, range_failures: int = 0,
                 watch_breaks: Sequence[int] = ()) -> None:
        self.inner = inner
        self.range_failures = range_failures
        self.watch_breaks = list(watch_breaks)
        self.watch_starts: list[int] = []

    async def range(self, prefix: bytes, revision: int = 0) -> tuple[list[KeyValue], int]:
        if self.range_failures:
            self.range_failures -= 1
            raise StoreUnavailable("etcd is away")
        return await self.inner.range(prefix, revision)

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncIterator[WatchBatch]:
        self.watch_starts.append(start_revision)
        limit = self.watch_breaks.pop(0) if self.watch_breaks else None
        passed = 0
        async with contextlib.aclosing(self.inner.watch(prefix, start_revision)) as batches:
            async for batch in batches:
                if limit is not None and passed == limit:
                    raise StoreUnavailable("watch stream broke")
                passed += 1
                yield batch
                if limit is not None and passed == limit:
                    raise StoreUnavailable("watch stream broke")

    async def txn(self, compares: Sequence[Compare], success: Sequence[Op]) -> TxnResult:
        raise AssertionError("the sidecar never writes")

    async def close(self) -> None:
        await self.inner.close()


class DownStore(FlakyStore):
    """etcd that never answers."""

    def __init__(self) -> None:
        super().__init__(MemoryStore(read_only=True))

    async def range(self, prefix: bytes, revision: int = 0) -> tuple[list[KeyValue], int]:
        raise StoreUnavailable("etcd is away")


class Applied:
    """Records every snapshot the client swaps in."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    async def __call__(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    @property
    def versions(self) -> list[int]:
        return [s.version for s in self.snapshots]


def client_for(mesh: Mesh, store: object, state: Path, applied: Applied) -> ConfigClient:
    return ConfigClient(store, LastKnownGood(state), [mesh.root.cert], CONSUMER_ID, applied,  # type: ignore[arg-type]
                        backoff=FAST)


@contextlib.asynccontextmanager
async def running(client: ConfigClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_listed_config_and_each_change_are_applied(mesh: Mesh, tmp_path: Path) -> None:
    """List → apply v1; a committed change → apply v2 and persist it as last-known-good."""
    applied = Applied()
    client = client_for(mesh, mesh.store.reader(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
        revision = await mesh.writer.apply([put(route(timeout_s=9.0))])
        await async_wait_until(lambda: client.status().revision == revision, what="v2 applied")
        await async_wait_until(lambda: client.persisted_revision == revision, what="v2 persisted")
    assert applied.versions == [1, 2]
    assert applied.snapshots[-1].routes[SERVICE].timeout == 9.0
    status = client.status()
    assert (status.source, status.version, status.last_error) == ("etcd", 2, "")
    stored = LastKnownGood(tmp_path).load()
    assert stored is not None and stored.revision == revision


async def test_a_rejected_change_keeps_the_current_snapshot(mesh: Mesh, tmp_path: Path) -> None:
    """A value written behind the control plane's back is refused, counted and logged; the
    applied snapshot and the last-known-good file stay as they were."""
    applied = Applied()
    client = client_for(mesh, mesh.store.reader(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
        await async_wait_until(lambda: client.persisted_revision == client.status().revision,
                               what="v1 persisted")
        lkg_before = LastKnownGood(tmp_path).path.read_bytes()
        key = resource_key("Purpose", "", "care")
        revision = await mesh.store.put(key.encode(), b"unsigned")
        await async_wait_until(lambda: client.status().seen_revision == revision, what="tamper seen")
        status = client.status()
        assert applied.versions == [1] and status.version == 1
        assert status.counters["rejected"] == 1 and "does not match its head" in status.last_error
        assert LastKnownGood(tmp_path).path.read_bytes() == lkg_before
        # The control plane's next commit removes the tampered value; that config applies.
        revision = await mesh.writer.apply([put(route(timeout_s=9.0))])
        await async_wait_until(lambda: client.status().revision == revision, what="v2 applied")
    assert client.status().last_error == ""


async def test_an_older_config_is_never_applied(mesh: Mesh, tmp_path: Path) -> None:
    """Restoring an entire older signed config (a replay) is refused: the applied version
    never decreases."""
    old, _ = await mesh.values()
    applied = Applied()
    client = client_for(mesh, mesh.store.reader(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
        await mesh.writer.apply([put(route(timeout_s=9.0))])
        await async_wait_until(lambda: client.status().version == 2, what="v2 applied")
        current, _ = await mesh.values()
        ops: list[Op] = [Put(k.encode(), v) for k, v in old.items()]
        ops += [Delete(k.encode()) for k in current if k not in old]
        revision = (await mesh.store.txn((), ops)).revision
        await async_wait_until(lambda: client.status().seen_revision == revision, what="replay seen")
    assert "replayed config head" in client.status().last_error
    assert applied.versions == [1, 2] and client.applied is not None and client.applied.version == 2


async def test_a_broken_watch_resumes_at_the_next_revision(mesh: Mesh, tmp_path: Path) -> None:
    """After a failed list and a broken stream the client backs off and resumes exactly
    after the last revision it saw: no change skipped, none applied twice."""
    store = FlakyStore(mesh.store.reader(), range_failures=1, watch_breaks=[1])
    applied = Applied()
    client = client_for(mesh, store, tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
        listed = applied.snapshots[0].revision
        second = await mesh.writer.apply([put(route(timeout_s=2.0))])
        third = await mesh.writer.apply([put(route(timeout_s=3.0))])
        await async_wait_until(lambda: client.status().revision == third, what="v3 applied")
    assert applied.versions == [1, 2, 3]
    assert [s.revision for s in applied.snapshots] == [listed, second, third]
    assert store.watch_starts[:2] == [listed + 1, second + 1]
    assert client.status().counters["store_errors"] == 2


async def test_a_compacted_resume_point_lists_again(mesh: Mesh, tmp_path: Path) -> None:
    """Stopped while history it needs is compacted away, the client lists again on restart
    and reaches the head."""
    applied = Applied()
    client = client_for(mesh, mesh.store.reader(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
    await mesh.writer.apply([put(route(timeout_s=2.0))])
    head = await mesh.writer.apply([put(route(timeout_s=3.0))])
    await mesh.store.compact(head)
    async with running(client):
        await async_wait_until(lambda: client.status().revision == head, what="head applied")
    counters = client.status().counters
    assert (counters["relists"], counters["lists"]) == (1, 2)
    assert applied.versions == [1, 3]


async def test_the_last_known_good_serves_while_etcd_is_away(mesh: Mesh, tmp_path: Path) -> None:
    """With etcd down at start, the verified last-known-good file is applied."""
    values, revision = await mesh.values()
    LastKnownGood(tmp_path).save(values, revision)
    applied = Applied()
    client = client_for(mesh, DownStore(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().counters.get("store_errors", 0) >= 2,
                               what="retries")
    status = client.status()
    assert (status.source, status.version, status.revision) == ("lkg", 1, revision)
    assert applied.snapshots[0].routes[SERVICE].identity.endswith("/sys/registry")


async def test_without_config_or_etcd_nothing_is_applied(mesh: Mesh, tmp_path: Path) -> None:
    """No last-known-good and no etcd: no snapshot, so the sidecar stays denying."""
    applied = Applied()
    client = client_for(mesh, DownStore(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().counters.get("store_errors", 0) >= 2,
                               what="retries")
    status = client.status()
    assert applied.snapshots == [] and client.applied is None
    assert (status.source, status.version) == ("none", 0) and "etcd" in status.last_error


async def test_a_tampered_last_known_good_is_refused(mesh: Mesh, tmp_path: Path) -> None:
    """A last-known-good file edited on disk is not applied."""
    values, revision = await mesh.values()
    lkg = LastKnownGood(tmp_path)
    lkg.save(values, revision)
    lkg.path.write_bytes(lkg.path.read_bytes().replace(b"127.0.0.1:4001", b"127.0.0.1:6666"))
    applied = Applied()
    client = client_for(mesh, DownStore(), tmp_path, applied)
    assert await client.restore() is False
    assert applied.snapshots == [] and client.status().counters["rejected"] == 1


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_is_jittered_and_capped(attempt: int) -> None:
    """Each wait lies in [d/2, d] with d = min(cap, initial * 2**attempt)."""
    backoff = Backoff(initial=0.05, cap=2.0)
    ceiling = min(2.0, 0.05 * 2 ** attempt)
    assert backoff.delay(attempt, lambda: 0.0) == pytest.approx(ceiling / 2)
    assert backoff.delay(attempt, lambda: 1.0) == pytest.approx(ceiling)
    assert backoff.delay(10_000, lambda: 1.0) == 2.0


def _batch(revision: int, *events: tuple[str, str, bytes]) -> WatchBatch:
    return WatchBatch(revision, tuple(
        Event(kind, KeyValue(key.encode(), value, revision, revision, 1, 0))
        for kind, key, value in events))


def test_batches_taken_together_are_one_change() -> None:
    """Batches applied together put the last value of each key and delete only what stayed
    deleted, at the last batch's revision; merged queued changes the same."""
    batches = [_batch(5, ("put", "a", b"1"), ("delete", "b", b"")),
               _batch(6, ("delete", "a", b""), ("put", "c", b"3")),
               _batch(7, ("put", "a", b"2"), ("put", "c", b"4"), ("delete", "d", b""))]
    change = _Change.of(batches)
    assert (change.puts, change.deletes, change.revision) == ({"a": b"2", "c": b"4"}, {"b", "d"}, 7)
    merged = _merged([_Change.of(batches[:1]), _Change.of(batches[1:2]), _Change.of(batches[2:])])
    assert (merged.puts, merged.deletes, merged.revision) == (change.puts, change.deletes, 7)


async def test_a_change_is_journalled_not_rewritten_whole(mesh: Mesh, tmp_path: Path) -> None:
    """After the listed config is saved whole, a watched change is persisted as a journal
    record: the snapshot file stays, and loading gives the new revision."""
    applied = Applied()
    client = client_for(mesh, mesh.store.reader(), tmp_path, applied)
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, what="v1 applied")
        await async_wait_until(lambda: client.persisted_revision == client.status().revision,
                               what="v1 persisted")
        whole = LastKnownGood(tmp_path).path.read_bytes()
        for timeout_s in (7.0, 8.0, 9.0):
            revision = await mesh.writer.apply([put(route(timeout_s=timeout_s))])
        await async_wait_until(lambda: client.persisted_revision == revision, what="v4 persisted")
    assert client.status().version == 4 and applied.snapshots[-1].routes[SERVICE].timeout == 9.0
    lkg = LastKnownGood(tmp_path)
    assert lkg.path.read_bytes() == whole and lkg.journal.stat().st_size > 0
    stored = lkg.load()
    assert stored is not None and stored.revision == revision
    assert mesh.compile(stored.values).routes[SERVICE].timeout == 9.0


class CountingLkg(LastKnownGood):
    """A LastKnownGood that counts its fsyncs of the journal."""

    syncs = 0

    def sync(self) -> None:
        super().sync()
        self.syncs += 1


async def test_changes_in_quick_succession_share_an_fsync(
        mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are appended at once; changes within the sync interval are fsynced together,
    and the last one is fsynced within the interval, without further changes."""
    monkeypatch.setattr("sidecar.config_client.LKG_SYNC_INTERVAL_S", 0.5)
    lkg = CountingLkg(tmp_path)
    applied = Applied()
    client = ConfigClient(mesh.store.reader(), lkg, [mesh.root.cert], CONSUMER_ID, applied,  # type: ignore[arg-type]
                          backoff=FAST)
    async with running(client):
        await async_wait_until(lambda: client.persisted_revision == client.status().revision > 0,
                               what="v1 persisted")
        revisions = [await mesh.writer.apply([put(route(timeout_s=t))]) for t in (6.0, 7.0, 8.0, 9.0)]
        await async_wait_until(lambda: client.persisted_revision == revisions[-1], what="v5 written")
        assert LastKnownGood(tmp_path).load().revision == revisions[-1]  # type: ignore[union-attr]
        await async_wait_until(lambda: client._syncer.idle, timeout=5.0, what="v5 fsynced")
    assert 1 <= lkg.syncs < len(revisions)


async def test_batches_close_together_are_gathered_into_one_compile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What is queued, and what follows within the quiet interval, is taken at once; a batch
    after a longer gap waits for the next round; the end of the watch ends the gathering."""
    monkeypatch.setattr("sidecar.config_client.COALESCE_QUIET_S", 0.2)
    monkeypatch.setattr("sidecar.config_client.COALESCE_MAX_S", 1.0)
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def put(item: object) -> None:
        queue.put_nowait((loop.time(), item))

    for revision in (2, 3):
        put(_batch(revision, ("put", "a", b"x")))
    loop.call_later(0.05, put, _batch(4, ("put", "a", b"y")))
    gathered = await _gathered(queue)
    assert [item.revision for item in gathered] == [2, 3, 4]
    late = asyncio.Event()
    loop.call_later(0.6, lambda: (put(_batch(6, ("put", "a", b"z"))), late.set()))
    put(_batch(5, ("put", "a", b"z")))
    assert [item.revision for item in await _gathered(queue)] == [5]
    await asyncio.wait_for(late.wait(), 5)
    ended = _Ended(None)
    put(ended)
    assert [getattr(item, "revision", item) for item in await _gathered(queue)] == [6, ended]


async def test_a_client_that_keeps_up_compiles_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default (no quiet interval), a fresh batch is taken with what is already
    queued after one pass of the loop, without a timer; one that arrives later waits for the
    next round."""
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for revision in (2, 3):
        queue.put_nowait((time.monotonic(), _batch(revision, ("put", "a", b"x"))))
    timers: list[float] = []
    real = loop.call_at
    monkeypatch.setattr(loop, "call_at", lambda when, *a, **k: timers.append(when) or real(when, *a, **k))
    assert [item.revision for item in await _gathered(queue)] == [2, 3]
    assert timers == []
    queue.put_nowait((time.monotonic(), _batch(4, ("put", "a", b"y"))))
    assert [item.revision for item in await _gathered(queue)] == [4]


async def test_a_batch_that_waited_widens_the_quiet_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A first batch that sat in the queue (a busy sidecar) waits longer for the next one,
    never past COALESCE_MAX_S."""
    monkeypatch.setattr("sidecar.config_client.COALESCE_QUIET_S", 0.01)
    monkeypatch.setattr("sidecar.config_client.COALESCE_MAX_S", 0.5)
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    queue.put_nowait((loop.time() - 0.4, _batch(2, ("put", "a", b"x"))))  # waited 0.4 s
    loop.call_later(0.1, lambda: queue.put_nowait((loop.time(), _batch(3, ("put", "a", b"y")))))
    started = loop.time()
    assert [item.revision for item in await _gathered(queue)] == [2, 3]
    assert loop.time() - started < 1.0
