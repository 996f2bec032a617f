"""The config client: lists and watches the signed config in etcd, compiles each state, and
applies only what verifies, never going back to an older version.

Start: the last-known-good file first (so the sidecar serves while etcd is away), then list
the config prefix and watch from the next revision. Compacted: list again. Store unavailable:
back off and resume the watch from the last revision seen, so no change is skipped or seen
twice. A rejected state is logged and counted; the current snapshot keeps serving.

A change costs what it touches: watch batches that arrived while the previous one was being
applied are taken together, compiled as an update of the applied config (sidecar/compile.py)
and swapped in; the last-known-good file follows, as a journal record of the change rather
than the whole config, appended at once and fsynced on a thread of its own (lkg.JournalSyncer);
a whole config is written on its own task, newest state first.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import structlog
from cryptography import x509

from certs.bundle import check_key_file_mode
from certs.spiffe_id import parse_spiffe_id
from mesh.keys import CONFIG_PREFIX
from mesh.store.base import Store
from mesh.store.base import WatchBatch
from mesh.store.errors import Compacted, StoreError
from mesh.store.etcd import EtcdStore
from sidecar.compile import (
    Compiled,
    SnapshotRejected,
    compile_full,
    compile_update,
    needs_full_compile,
    roots_of,
)
from sidecar.errors import ConfigError
from sidecar.lkg import JournalSyncer, LastKnownGood, LkgUnreadable
from sidecar.settings import EtcdSettings
from sidecar.snapshot import Snapshot

Source = Literal["etcd", "lkg", "none"]
ApplyHook = Callable[[Snapshot], Awaitable[None]]
# Updates changing at most this many keys compile on the event loop (well under a
# millisecond); larger ones, and whole configs, on a worker thread.
INLINE_UPDATE_KEYS = 64
# Watch batches arriving this close together are compiled as one change (at most this long
# after the first): see _gathered. With no quiet interval, a client that keeps up compiles a
# change at once, taking along whatever the reader already has; only a client that has
# fallen behind (its first batch waited in the queue at least COALESCE_BEHIND_S) waits for
# more.
COALESCE_QUIET_S = 0.0
COALESCE_BEHIND_S = 0.001
COALESCE_MAX_S = 0.05
# How long run() waits, once stopped, for the last-known-good writer to finish.
PERSIST_ON_CLOSE_S = 5.0
# Journal records are fsynced at most once per this interval, plus a random delay of up to
# the spread (so at most their sum after a record is appended): changes that come faster
# share one fsync, and sidecars that applied a change together do not all fsync in the same
# later moment. A power cut may lose that last window of changes from the last-known-good
# file (it stays whole and older); etcd brings them back.
LKG_SYNC_INTERVAL_S = 2.0
LKG_SYNC_SPREAD_S = 2.0

log = structlog.get_logger("sidecar.config")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Bounded exponential backoff with jitter: attempt n waits between half and all of
    min(cap, initial * 2**n) seconds."""

    initial: float = 0.05
    cap: float = 2.0

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        ceiling = min(self.cap, self.initial * 2 ** min(attempt, 32))
        return ceiling / 2 + rand() * ceiling / 2


@dataclass(frozen=True, slots=True)
class ConfigStatus:
    """What the sidecar reports about its config (for StatusService / meshctl status)."""

    source: Source
    # Of the applied snapshot: mesh config version, head digest (hex), etcd revision.
    version: int
    config_hash: str
    revision: int
    # The last etcd revision compiled, applied or not: the client has caught up to it.
    seen_revision: int
    # The latest store error or rejection reason; cleared when a config is applied.
    last_error: str
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Change:
    """Keys put and deleted by one or more watch batches, the latest revision among them."""

    puts: dict[str, bytes]
    deletes: set[str]
    revision: int

    @classmethod
    def of(cls, batches: Sequence[WatchBatch]) -> "_Change":
        puts: dict[str, bytes] = {}
        deletes: set[str] = set()
        for batch in batches:
            for event in batch.events:
                key = event.kv.key.decode("utf-8", "replace")
                if event.type == "put":
                    puts[key] = event.kv.value
                    deletes.discard(key)
                else:
                    puts.pop(key, None)
                    deletes.add(key)
        return cls(puts, deletes, batches[-1].revision)


@dataclass(frozen=True, slots=True)
class _Persist:
    """A state to write as last-known-good: whole, or as the change from `from_revision`."""

    values: Mapping[str, bytes]
    revision: int
    change: _Change | None = None
    from_revision: int = 0


class _Ended:
    """The watch stream ended: with `error`, or cleanly when the client was closed."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error


# Watch batches (or the end of the watch), each with the time the reader took it in.
_Queue = asyncio.Queue[tuple[float, "WatchBatch | _Ended"]]


class ConfigClient:
    """One long-lived task (`run`) owned by the sidecar's TaskGroup. It never writes to the
    store: the sidecar's etcd user has a read-only role."""

    def __init__(
        self,
        store: Store,
        lkg: LastKnownGood,
        local_roots: Sequence[x509.Certificate],
        spiffe_id: str,
        on_apply: ApplyHook,
        *,
        backoff: Backoff = Backoff(),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._lkg = lkg
        self._local_roots = list(local_roots)
        self._spiffe_id = spiffe_id
        self._trust_domain = parse_spiffe_id(spiffe_id).trust_domain
        self._on_apply = on_apply
        self._backoff = backoff
        self._rand = rand
        # The store's state as last read (every key under CONFIG_PREFIX) and its revision.
        # None: list before watching. Kept across run() calls, so a restarted run resumes.
        self._raw: Mapping[str, bytes] | None = None
        self._revision = 0
        self._seen_revision = 0
        self._attempt = 0  # consecutive store failures, for the backoff
        self._restored = False
        self._closing = False
        # The applied config as compiled: what the next watch batch is compiled onto.
        self._compiled: Compiled | None = None
        self._source: Source = "none"
        self._last_error = ""
        self.counters: Counter[str] = Counter()
        # The last-known-good writer: the newest states to persist, and its task.
        self._to_persist: list[_Persist] = []
        self._persisting: asyncio.Task[None] | None = None
        self._saving = False  # a whole snapshot is being written (on a worker thread)
        self._syncer = JournalSyncer(lkg, LKG_SYNC_INTERVAL_S, self._sync_failed,
                                     spread=LKG_SYNC_SPREAD_S, rand=rand)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.persisted_revision = 0

    @property
    def applied(self) -> Snapshot | None:
        compiled = self._compiled
        return compiled.snapshot if compiled is not None else None

    def status(self) -> ConfigStatus:
        applied = self.applied
        return ConfigStatus(
            source=self._source,
            version=applied.version if applied else 0,
            config_hash=applied.config_hash if applied else "",
            revision=applied.revision if applied else 0,
            seen_revision=self._seen_revision,
            last_error=self._last_error,
            counters=MappingProxyType(dict(self.counters)),
        )

    async def restore(self) -> bool:
        """Apply the last-known-good file if it verifies; True if it was applied. Once only."""
        if self._restored:
            return False
        self._restored = True
        try:
            stored = await asyncio.to_thread(self._lkg.load)
        except LkgUnreadable as exc:
            self._reject(exc.reason, 0, "lkg")
            return False
        except OSError as exc:
            self._reject(f"cannot read {self._lkg.path}: {exc.strerror}", 0, "lkg")
            return False
        if stored is None:
            log.info("lkg_absent", path=str(self._lkg.path))
            return False
        self.persisted_revision = stored.revision
        return await self._consider(stored.values, stored.revision, "lkg")

    async def run(self) -> None:
        """List, then watch, until cancelled or closed."""
        self._loop = asyncio.get_running_loop()
        self._syncer.start()
        try:
            await self.restore()
            while not self._closing:
                try:
                    if self._raw is None:
                        await self._list()
                    await self._follow()
                except Compacted as exc:
                    # The resume point is gone: a fresh list is the only complete view.
                    self.counters["relists"] += 1
                    log.info("config_watch_compacted", revision=self._revision,
                             compact_revision=exc.compact_revision)
                    self._raw = None
                except StoreError as exc:
                    if self._closing:
                        return
                    self.counters["store_errors"] += 1
                    delay = self._backoff.delay(self._attempt, self._rand)
                    self._attempt += 1
                    self._last_error = f"etcd: {exc}"
                    log.warning("config_store_unavailable", error=str(exc),
                                resume_revision=self._revision + 1, retry_in_s=round(delay, 3))
                    await asyncio.sleep(delay)
        finally:
            persisting = self._persisting
            if persisting is not None and not persisting.done():
                # Let the newest state reach the disk (bounded); a kill leaves the last one.
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(persisting), PERSIST_ON_CLOSE_S)
            syncing = self._syncer.stop()
            if syncing is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(asyncio.to_thread(syncing.join, PERSIST_ON_CLOSE_S))
            if persisting is None or persisting.done():
                self._lkg.close()  # safe while a sync is still busy: it syncs its own descriptor

    async def close(self) -> None:
        """Stop watching; run() returns."""
        self._closing = True
        await self._store.close()

    async def _list(self) -> None:
        kvs, revision = await self._store.range(CONFIG_PREFIX.encode())
        self._attempt = 0
        raw = {kv.key.decode("utf-8", "replace"): kv.value for kv in kvs}
        self._raw, self._revision = raw, revision
        self.counters["lists"] += 1
        await self._consider(raw, revision, "etcd")

    async def _follow(self) -> None:
        """Watch from the revision after the last one seen. Batches that queued up while the
        previous ones were applied are applied together. Returns only once closed."""
        queue: _Queue = asyncio.Queue()
        reader = asyncio.create_task(self._read(self._revision + 1, queue))
        try:
            while True:  # bounded by the watch: it ends with _Ended
                items = await _gathered(queue)
                batches = [item for item in items if isinstance(item, WatchBatch)]
                if batches:
                    self._attempt = 0
                    self.counters["watch_batches"] += len(batches)
                    await self._take(_Change.of(batches))
                ended = items[-1]
                if isinstance(ended, _Ended):
                    if ended.error is not None:
                        raise ended.error
                    if not self._closing:
                        raise StoreError("the watch ended without being closed")
                    return
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self, start: int, queue: _Queue) -> None:
        try:
            async with aclosing(self._store.watch(CONFIG_PREFIX.encode(), start)) as batches:
                async for batch in batches:
                    queue.put_nowait((time.monotonic(), batch))
        except Exception as exc:  # handed to _follow, which raises it in run()'s loop
            queue.put_nowait((time.monotonic(), _Ended(exc)))
            return
        queue.put_nowait((time.monotonic(), _Ended(None)))

    async def _take(self, change: _Change) -> None:
        """Apply a change read from the watch: as an update of the applied config when that
        config is the state the change follows, else by compiling the whole new state."""
        assert self._raw is not None
        previous, compiled = self._revision, self._compiled
        self._revision = change.revision
        if compiled is None or compiled.snapshot.revision != previous or self._source != "etcd":
            self._raw = _changed(self._raw, change)
            await self._consider(self._raw, change.revision, "etcd")
            return
        size = len(change.puts) + len(change.deletes)
        try:
            if size <= INLINE_UPDATE_KEYS and not needs_full_compile(compiled, change.puts, change.deletes):
                updated = compile_update(compiled, change.puts, change.deletes, change.revision,
                                         self._local_roots)
            else:
                updated = await asyncio.to_thread(
                    compile_update, compiled, change.puts, change.deletes, change.revision,
                    self._local_roots)
        except Exception as exc:
            self._raw = _changed(self._raw, change)
            if isinstance(exc, SnapshotRejected):
                self._reject(exc.reason, change.revision, "etcd")
            else:  # a bug must not take down a serving sidecar
                log.exception("config_compile_failed", revision=change.revision, source="etcd")
                self._reject("internal error while compiling the config", change.revision, "etcd")
            return
        self._raw = updated.values
        await self._applied(updated, "etcd", _Persist(updated.values, change.revision, change, previous))

    async def _consider(self, values: Mapping[str, bytes], revision: int, source: Source) -> bool:
        """Compile `values` whole; apply them if they verify and are not older than what is
        applied."""
        applied = self.applied
        roots = [*self._local_roots, *roots_of(applied)]
        try:
            compiled = await asyncio.to_thread(
                compile_full, values, roots, self._trust_domain, self._spiffe_id, revision,
                applied=applied)
        except SnapshotRejected as exc:
            self._reject(exc.reason, revision, source)
            return False
        except Exception:  # a bug must not take down a serving sidecar
            log.exception("config_compile_failed", revision=revision, source=source)
            self._reject("internal error while compiling the config", revision, source)
            return False
        await self._applied(compiled, source, _Persist(compiled.values, revision) if source == "etcd" else None)
        return True

    async def _applied(self, compiled: Compiled, source: Source, persist: _Persist | None) -> None:
        # Swap first so calls see the new config at once; the file follows. A crash in
        # between leaves the previous last-known-good, which etcd then brings forward.
        snapshot = compiled.snapshot
        await self._on_apply(snapshot)
        if source == "etcd":
            self._seen_revision = snapshot.revision
        self._compiled = compiled
        self._source = source
        self._last_error = ""
        self.counters["applied"] += 1
        if persist is not None:
            self._persist(persist)
        log.info("config_applied", source=source, version=snapshot.version,
                 revision=snapshot.revision, config_hash=snapshot.config_hash[:16],
                 routes=len(snapshot.routes), denied=len(snapshot.denied))

    def _reject(self, reason: str, revision: int, source: Source) -> None:
        if source == "etcd":
            self._seen_revision = revision
        self.counters["rejected"] += 1
        self._last_error = reason
        applied = self.applied
        log.warning("config_rejected", reason=reason, source=source, revision=revision,
                    kept_version=applied.version if applied else None)

    def _persist(self, state: _Persist) -> None:
        """Persist `state`: a change that follows what was written is appended to the
        journal at once (one small write, on the loop); anything else, and anything while
        the writer is busy with a whole snapshot, is queued for it."""
        if state.change is not None and not self._to_persist and not self._saving:
            try:
                appended = self._lkg.append(state.revision, state.from_revision,
                                            state.change.puts, state.change.deletes)
            except OSError as exc:
                self._lkg_failed(exc)
                return
            if appended:
                self._written(state.revision, synced=False)
                return
        self._to_persist.append(state)
        self._start_writer()

    def _written(self, revision: int, synced: bool) -> None:
        self.persisted_revision = revision
        self.counters["lkg_writes"] += 1
        if not synced:
            self._syncer.appended()

    def _start_writer(self) -> None:
        if self._persisting is None or self._persisting.done():
            self._persisting = asyncio.create_task(self._write_lkg())

    async def _write_lkg(self) -> None:
        """Write queued states: changes queued together as one journal record (fsynced by
        the syncer), or a whole snapshot on a worker thread. Returns when all are written."""
        while self._to_persist:  # bounded: states are queued only as changes are applied
            states, self._to_persist = self._to_persist, []
            await self._write_states(states)

    async def _write_states(self, states: list[_Persist]) -> None:
        newest = states[-1]
        try:
            if all(state.change is not None for state in states):
                merged = _merged([state.change for state in states])  # type: ignore[misc]
                if self._lkg.append(newest.revision, states[0].from_revision,
                                    merged.puts, merged.deletes):
                    self._written(newest.revision, synced=False)
                    return
            self._saving = True
            try:
                await asyncio.to_thread(self._lkg.save, newest.values, newest.revision)
            finally:
                self._saving = False
        except OSError as exc:
            self._lkg_failed(exc)
            return
        self._written(newest.revision, synced=True)

    def _lkg_failed(self, exc: OSError) -> None:
        # Serving goes on from memory; only a restart while etcd is away would miss it.
        self.counters["lkg_write_failed"] += 1
        log.error("lkg_write_failed", path=str(self._lkg.path), error=exc.strerror)

    def _sync_failed(self, exc: OSError) -> None:
        """A journal fsync failed (called on the syncing thread): reported on the loop."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self._lkg_failed, exc)


async def _gathered(queue: _Queue) -> list[WatchBatch | _Ended]:
    """The next item, and those that follow it with gaps no longer than a quiet interval (at
    most COALESCE_MAX_S in all), up to the end of the watch. The quiet interval is
    COALESCE_QUIET_S, or half as long as the first item waited in the queue when that was
    COALESCE_BEHIND_S or more (the sidecar is busy, and etcd has likely sent more that the
    reader has yet to take in): a backlog is compiled once, not once per batch.

    It waits by sleeping a quiet interval and taking what came meanwhile, until a sleep
    brings nothing: one timer per change, none cancelled (none at all with no quiet
    interval: one pass of the event loop). A gap of up to two intervals may thus be
    bridged too."""
    received, first = await queue.get()
    items = [first]
    now = time.monotonic()
    waited = now - received
    quiet = min(COALESCE_MAX_S, max(COALESCE_QUIET_S, waited / 2 if waited >= COALESCE_BEHIND_S else 0.0))
    deadline = now + COALESCE_MAX_S
    while True:  # bounded by the deadline: each pass sleeps, or returns
        while not queue.empty():
            items.append(queue.get_nowait()[1])
        remaining = deadline - time.monotonic()
        if isinstance(items[-1], _Ended) or remaining <= 0:
            return items
        await asyncio.sleep(min(quiet, remaining))
        if queue.empty():
            return items


def _changed(values: Mapping[str, bytes], change: _Change) -> dict[str, bytes]:
    """`values` with `change` applied (a copy)."""
    raw = dict(values)
    raw.update(change.puts)
    for key in change.deletes:
        raw.pop(key, None)
    return raw


def _merged(changes: Sequence[_Change]) -> _Change:
    """Consecutive changes as one."""
    puts: dict[str, bytes] = {}
    deletes: set[str] = set()
    for change in changes:
        for key in change.deletes:
            puts.pop(key, None)
        deletes |= change.deletes
        for key, value in change.puts.items():
            puts[key] = value
            deletes.discard(key)
    return _Change(puts, deletes, changes[-1].revision)


def etcd_store(source: EtcdSettings) -> EtcdStore:
    """The read-only EtcdStore named by the sidecar's etcd settings."""
    try:
        check_key_file_mode(source.key_file)
        ca_pem = source.ca_file.read_bytes()
        cert_pem = source.cert_file.read_bytes()
        key_pem = source.key_file.read_bytes()
        return EtcdStore(list(source.endpoints), ca_pem, cert_pem, key_pem)
    except (OSError, ValueError) as exc:
        raise ConfigError([f"etcd: {exc}"]) from None
