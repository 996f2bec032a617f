"""A worker process of the propagation benchmark: many real config clients and raw etcd
watchers in one event loop, each stamping what it sees with CLOCK_MONOTONIC.

`python -m bench.propagation.worker` reads a JSON spec line on stdin, then commands, one JSON
line each: {"cmd": "watch"} starts a raw watcher per index, {"cmd": "unwatch"} ends them;
{"cmd": "clients", "indexes": [...]}
a ConfigClient for each of those indexes (sidecar.config_client, its own EtcdStore as the
read-only sidecar user, its own LastKnownGood dir); {"cmd": "check"} reports what each client
has applied; {"cmd": "settle"} waits until every client has written its last-known-good file,
then moves everything allocated so far out of the garbage collector's sight (Worker.settle);
{"cmd": "stop"} (or EOF) stops everything and exits. stdout carries JSON lines:
  {"ev": "w", "i": index, "v": config version, "t": monotonic}   raw watch event arrived
  {"ev": "a", "i": index, "v": config version, "t": monotonic}   snapshot swapped in
Logs (the config clients' own structlog lines included) go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from bench.propagation.documents import consumer_id
from certs.bundle import load_bundle
from mesh.keys import CONFIG_PREFIX, HEAD_KEY
from mesh.store.errors import StoreError
from mesh.store.etcd import EtcdStore
from mesh.v1 import signed_pb2
from sidecar.config_client import ApplyHook, ConfigClient
from sidecar.lkg import LastKnownGood
from sidecar.snapshot import Snapshot

STOP_TIMEOUT_S = 10.0
STAMP_FLUSH_S = 0.005
SETTLE_TIMEOUT_S = 120.0
log = structlog.get_logger("bench.propagation.worker")


@dataclass(frozen=True, slots=True)
class Spec:
    """What the harness gives a worker: etcd access as the sidecar user, the mesh trust
    bundle, and the client indexes it runs."""

    endpoints: list[str]
    ca_file: Path
    cert_file: Path
    key_file: Path
    bundle_file: Path
    trust_domain: str
    indexes: list[int]
    state_dir: Path
    grpc_service: str
    niceness: int = 0

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Spec":
        return cls(list(doc["endpoints"]), Path(doc["ca_file"]), Path(doc["cert_file"]),
                   Path(doc["key_file"]), Path(doc["bundle_file"]), str(doc["trust_domain"]),
                   [int(i) for i in doc["indexes"]], Path(doc["state_dir"]), str(doc["grpc_service"]),
                   int(doc.get("niceness", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"endpoints": self.endpoints, "ca_file": str(self.ca_file),
                "cert_file": str(self.cert_file), "key_file": str(self.key_file),
                "bundle_file": str(self.bundle_file), "trust_domain": self.trust_domain,
                "indexes": self.indexes, "state_dir": str(self.state_dir),
                "grpc_service": self.grpc_service, "niceness": self.niceness}


class Outbox:
    """stdout as a non-blocking asyncio pipe: when the harness reads late, lines queue here
    instead of blocking the event loop that all the clients share. The per-client stamps are
    gathered and written together every STAMP_FLUSH_S: each carries the time it was taken,
    so the delay costs the figures nothing, and the probe's own cost stays small beside the
    clients' (one write per batch, not a JSON encoding and a write per client per change)."""

    def __init__(self) -> None:
        self._transport: asyncio.WriteTransport | None = None
        self._stamps: list[str] = []
        self._flush: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)

    def stamp(self, event: str, index: int, version: int, at: float) -> None:
        """A raw watch event ("w") or an apply ("a") of `version` by client `index` at `at`."""
        self._stamps.append(f'{{"ev":"{event}","i":{index},"v":{version},"t":{at!r}}}\n')
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(STAMP_FLUSH_S, self._write_stamps)

    def emit(self, event: dict[str, Any]) -> None:
        assert self._transport is not None
        self._write_stamps()  # what came before goes first
        self._transport.write((json.dumps(event, separators=(",", ":")) + "\n").encode())

    def _write_stamps(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._stamps:
            assert self._transport is not None
            self._transport.write("".join(self._stamps).encode())
            self._stamps.clear()

    async def drain(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Bounded wait until every queued line has been written."""
        if self._transport is None:
            return
        self._write_stamps()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._transport.get_write_buffer_size():
                    await asyncio.sleep(0.01)


class Worker:
    def __init__(self, spec: Spec, out: Outbox) -> None:
        self._spec = spec
        self._out = out
        self._pems = (spec.ca_file.read_bytes(), spec.cert_file.read_bytes(), spec.key_file.read_bytes())
        self._roots = load_bundle(spec.bundle_file)
        self._clients: dict[int, ConfigClient] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stores: list[EtcdStore] = []
        self._watchers: list[tuple[asyncio.Task[None], EtcdStore]] = []

    def _store(self) -> EtcdStore:
        # One store (one channel, one TLS connection) each, as N separate sidecars have.
        store = EtcdStore(self._spec.endpoints, *self._pems)
        self._stores.append(store)
        return store

    def start_watchers(self) -> None:
        for index in self._spec.indexes:
            store = self._store()
            self._watchers.append((asyncio.create_task(self._watch(index, store)), store))

    async def stop_watchers(self) -> None:
        """End every raw watcher, so the config clients run without them beside."""
        watchers, self._watchers = self._watchers, []
        for task, _ in watchers:
            task.cancel()
        if watchers:
            await asyncio.wait([task for task, _ in watchers], timeout=STOP_TIMEOUT_S)
        for _, store in watchers:
            with contextlib.suppress(Exception):
                await store.close()

    async def _watch(self, index: int, store: EtcdStore) -> None:
        """A plain watcher: the time each head version arrives, nothing verified."""
        try:
            async for batch in store.watch(CONFIG_PREFIX.encode(), 0):
                arrived = time.monotonic()
                for event in batch.events:
                    if event.type == "put" and event.kv.key == HEAD_KEY.encode():
                        version = signed_pb2.SignedValue.FromString(event.kv.value).version
                        self._out.stamp("w", index, version, arrived)
        except StoreError as exc:
            self._out.emit({"ev": "error", "what": f"watcher {index}", "error": str(exc)})

    def start_clients(self, indexes: list[int]) -> None:
        for index in indexes:
            if index not in self._spec.indexes or index in self._clients:
                raise ValueError(f"index {index} is not this worker's or already runs")
            state = self._spec.state_dir / f"client-{index}"
            state.mkdir(mode=0o700, parents=True, exist_ok=True)
            client = ConfigClient(self._store(), LastKnownGood(state), self._roots,
                                  consumer_id(self._spec.trust_domain, index), self._hook(index))
            self._clients[index] = client
            self._tasks.append(asyncio.create_task(client.run()))

    def _hook(self, index: int) -> ApplyHook:
        async def on_apply(snapshot: Snapshot) -> None:
            # This is the sidecar's swap: from here on a call reads this snapshot.
            self._out.stamp("a", index, snapshot.version, time.monotonic())
        return on_apply

    async def settle(self, timeout: float = SETTLE_TIMEOUT_S) -> int:
        """Wait (bounded) until every client has written its last-known-good file for what
        it applied, so the timed changes do not meet the clients' startup writes; then
        collect, and freeze the surviving objects (gc.freeze) so later collections skip
        them. Returns how many were frozen. A worker holds hundreds of sidecars' configs in
        one heap, so a full collection here scans hundreds of times what a lone sidecar's
        does (~0.15 s with 250 clients at N = 1000, against well under a millisecond), and
        stalls all of them at once: a packing artefact, not a sidecar cost. Objects
        allocated by later changes are collected as usual; frozen ones are still freed by
        reference counting."""
        def persisted() -> bool:
            return all(client.applied is not None
                       and client.persisted_revision >= client.applied.revision
                       for client in self._clients.values())
        async with asyncio.timeout(timeout):
            while not persisted():  # bounded by the timeout
                await asyncio.sleep(0.01)
        gc.collect()
        gc.freeze()
        return gc.get_freeze_count()

    def check(self) -> dict[str, Any]:
        """Each client's applied version, its route's timeout, and its counters."""
        found: dict[str, Any] = {}
        for index, client in self._clients.items():
            status = client.status()
            applied = client.applied
            route = applied.route(self._spec.grpc_service) if applied is not None else None
            found[str(index)] = {"version": status.version,
                                 "timeout": route.timeout if route is not None else None,
                                 "counters": dict(status.counters), "last_error": status.last_error}
        return found

    async def stop(self) -> None:
        for client in self._clients.values():
            await client.close()
        await self.stop_watchers()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        for store in self._stores:
            with contextlib.suppress(Exception):
                await store.close()


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line = await reader.readline()
    if not line:
        return
    spec = Spec.from_json(json.loads(line))
    # The fleet's CPU is the load under test; niced, it leaves etcd, the control plane and
    # the harness (which in a deployment run elsewhere) the CPU they need to answer at once.
    os.nice(spec.niceness)
    out = Outbox()
    await out.open()
    worker = Worker(spec, out)
    out.emit({"ev": "ready"})
    try:
        while True:  # bounded by the harness: it always ends with stop or EOF
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)["cmd"]
            if command == "watch":
                worker.start_watchers()
                out.emit({"ev": "started", "what": "watchers"})
            elif command == "unwatch":
                await worker.stop_watchers()
                out.emit({"ev": "stopped_watchers"})
            elif command == "clients":
                worker.start_clients(json.loads(line)["indexes"])
                out.emit({"ev": "started", "what": "clients"})
            elif command == "check":
                out.emit({"ev": "check", "clients": worker.check()})
            elif command == "settle":
                out.emit({"ev": "settled", "objects": await worker.settle()})
            elif command == "stop":
                break
    finally:
        await worker.stop()
        out.emit({"ev": "stopped"})
        await out.drain()


def configure_logging() -> None:
    """The sidecar's own log pipeline, to stderr (stdout is the harness's channel)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def main() -> None:
    configure_logging()
    # BENCH_PROFILE_DIR=DIR: each worker writes a cProfile of its event loop to DIR (for
    # finding where a client's CPU per change goes; it slows the fleet, so not for figures).
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if not profile_dir:
        asyncio.run(serve())
        return
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve())
    finally:
        profiler.disable()
        profiler.dump_stats(str(Path(profile_dir) / f"worker-{os.getpid()}.prof"))


if __name__ == "__main__":
    main()
