"""The config client: lists and watches the signed config in etcd, compiles each state, and
applies only what verifies, never going back to an older version.

Start: the last-known-good file first (so the sidecar serves while etcd is away), then list
the config prefix and watch from the next revision. Compacted: list again. Store unavailable:
back off and resume the watch from the last revision seen, so no change is skipped or seen
twice. A rejected state is logged and counted; the current snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
import random
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
from mesh.store.errors import Compacted, StoreError
from mesh.store.etcd import EtcdStore
from sidecar.compile import SnapshotRejected, compile_snapshot, roots_of
from sidecar.errors import ConfigError
from sidecar.lkg import LastKnownGood, LkgUnreadable
from sidecar.settings import EtcdSettings
from sidecar.snapshot import Snapshot

Source = Literal["etcd", "lkg", "none"]
ApplyHook = Callable[[Snapshot], Awaitable[None]]

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
        self._raw: dict[str, bytes] | None = None
        self._revision = 0
        self._seen_revision = 0
        self._attempt = 0  # consecutive store failures, for the backoff
        self._restored = False
        self._closing = False
        self.applied: Snapshot | None = None
        self._source: Source = "none"
        self._last_error = ""
        self.counters: Counter[str] = Counter()

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
        return await self._consider(stored.values, stored.revision, "lkg")

    async def run(self) -> None:
        """List, then watch, until cancelled or closed."""
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
        """Watch from the revision after the last one seen; compile each batch applied to a
        copy of the raw state. Returns only once closed."""
        assert self._raw is not None
        start = self._revision + 1
        async with aclosing(self._store.watch(CONFIG_PREFIX.encode(), start)) as batches:
            async for batch in batches:
                self._attempt = 0
                raw = dict(self._raw)
                for event in batch.events:
                    key = event.kv.key.decode("utf-8", "replace")
                    if event.type == "put":
                        raw[key] = event.kv.value
                    else:
                        raw.pop(key, None)
                self._raw, self._revision = raw, batch.revision
                await self._consider(raw, batch.revision, "etcd")
        if not self._closing:
            raise StoreError("the watch ended without being closed")

    async def _consider(self, values: Mapping[str, bytes], revision: int, source: Source) -> bool:
        """Compile `values`; apply them if they verify and are not older than what is applied."""
        applied = self.applied
        roots = [*self._local_roots, *roots_of(applied)]
        try:
            snapshot = await asyncio.to_thread(
                compile_snapshot, values, roots, self._trust_domain, self._spiffe_id, revision,
                applied=applied)
        except SnapshotRejected as exc:
            self._reject(exc.reason, revision, source)
            return False
        except Exception:  # a bug must not take down a serving sidecar
            log.exception("config_compile_failed", revision=revision, source=source)
            self._reject("internal error while compiling the config", revision, source)
            return False
        # Swap first so calls see the new config at once; the file follows. A crash in
        # between leaves the previous last-known-good, which etcd then brings forward.
        await self._on_apply(snapshot)
        if source == "etcd":
            await self._persist(values, revision)
            self._seen_revision = revision
        self.applied = snapshot
        self._source = source
        self._last_error = ""
        self.counters["applied"] += 1
        log.info("config_applied", source=source, version=snapshot.version, revision=revision,
                 config_hash=snapshot.config_hash[:16], routes=len(snapshot.routes),
                 denied=len(snapshot.denied))
        return True

    def _reject(self, reason: str, revision: int, source: Source) -> None:
        if source == "etcd":
            self._seen_revision = revision
        self.counters["rejected"] += 1
        self._last_error = reason
        applied = self.applied
        log.warning("config_rejected", reason=reason, source=source, revision=revision,
                    kept_version=applied.version if applied else None)

    async def _persist(self, values: Mapping[str, bytes], revision: int) -> None:
        try:
            await asyncio.to_thread(self._lkg.save, values, revision)
        except OSError as exc:
            # Serving goes on from memory; only a restart while etcd is away would miss it.
            self.counters["lkg_write_failed"] += 1
            log.error("lkg_write_failed", path=str(self._lkg.path), error=exc.strerror)


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
