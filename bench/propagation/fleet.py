"""The worker processes seen from the harness: start them, send commands, collect every
timestamp they report, and wait (bounded) until all clients or watchers reach a version."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.process import REPO
from bench.propagation.worker import Spec

READY_TIMEOUT_S = 60.0
SETTLE_REPLY_TIMEOUT_S = 150.0  # a worker waits up to 120 s for its clients' files
STOP_TIMEOUT_S = 20.0
WATCHER = "w"  # raw etcd watch event arrived
CLIENT = "a"  # config client swapped its snapshot in


@dataclass(slots=True)
class _Waiter:
    version: int
    pending: set[int]
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Recorder:
    """Every (index, version, time) per kind, and each index's newest version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.events: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        self.newest: dict[str, dict[int, int]] = defaultdict(dict)
        self._waiters: dict[str, list[_Waiter]] = defaultdict(list)

    def record(self, kind: str, index: int, version: int, at: float) -> None:
        self.events[kind].append((index, version, at))
        newest = self.newest[kind]
        if version <= newest.get(index, 0):
            return
        newest[index] = version
        for waiter in self._waiters[kind]:
            if version >= waiter.version and index in waiter.pending:
                waiter.pending.discard(index)
                if not waiter.pending:
                    waiter.done.set()

    def count_at(self, kind: str, version: int) -> int:
        return sum(1 for v in self.newest[kind].values() if v >= version)

    async def wait_all(self, kind: str, version: int, timeout: float,
                       indexes: Iterable[int] | None = None) -> bool:
        """True once every index (or every one of `indexes`) of `kind` is at `version` or
        later; False after `timeout`."""
        newest = self.newest[kind]
        wanted = range(self.size) if indexes is None else indexes
        waiter = _Waiter(version, {i for i in wanted if newest.get(i, 0) < version})
        if not waiter.pending:
            return True
        self._waiters[kind].append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.done.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters[kind].remove(waiter)

    def arrivals_of(self, kind: str) -> dict[int, float]:
        """version → when it first arrived anywhere."""
        found: dict[int, float] = {}
        for _, version, at in self.events[kind]:
            found.setdefault(version, at)
        return found

    def first_at_or_after(self, kind: str, since: int = 0) -> dict[int, list[tuple[int, float]]]:
        """index → [(version, time)] in arrival order, from event number `since` on."""
        found: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for index, version, at in self.events[kind][since:]:
            found[index].append((version, at))
        return found


class _Process:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, recorder: Recorder) -> None:
        self.name = name
        self.proc = proc
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.errors: list[str] = []
        self._recorder = recorder
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:  # ends at EOF, when the worker exits
            line = await self.proc.stdout.readline()
            if not line:
                await self.replies.put({"ev": "eof"})
                return
            event = json.loads(line)
            kind = event["ev"]
            if kind in (WATCHER, CLIENT):
                self._recorder.record(kind, event["i"], event["v"], event["t"])
            elif kind == "error":
                self.errors.append(f"{event['what']}: {event['error']}")
            else:
                await self.replies.put(event)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def reply(self, timeout: float) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            reply = await self.replies.get()
        if reply["ev"] == "eof":
            raise RuntimeError(f"{self.name} exited (code {self.proc.returncode}); see its log")
        return reply


class Fleet:
    """`workers` processes sharing the client indexes 0..size-1 round-robin."""

    def __init__(self, size: int, workers: int, log_dir: Path, niceness: int = 0) -> None:
        self.size = size
        self.niceness = niceness
        self.workers = max(1, min(workers, size))
        self.recorder = Recorder(size)
        self._log_dir = log_dir
        self._processes: list[_Process] = []

    @property
    def pids(self) -> list[int]:
        return [p.proc.pid for p in self._processes]

    def errors(self) -> list[str]:
        return [f"{p.name}: {e}" for p in self._processes for e in p.errors]

    async def start(self, spec: Spec) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for n in range(self.workers):
            indexes = list(range(n, self.size, self.workers))
            worker_spec = replace(spec, indexes=indexes, state_dir=spec.state_dir / f"worker-{n}",
                                  niceness=self.niceness)
            with open(self._log_dir / f"worker-{n}.log", "ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.propagation.worker", cwd=REPO,
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                    start_new_session=True, limit=1 << 24)
            process = _Process(f"worker-{n}", proc, self.recorder)
            self._processes.append(process)
            process.send(worker_spec.to_json())
        await self._all("ready", None, READY_TIMEOUT_S)

    async def start_watchers(self) -> None:
        await self._all("started", {"cmd": "watch"}, READY_TIMEOUT_S)

    async def stop_watchers(self) -> None:
        """End the raw watchers (their watch streams and connections)."""
        await self._all("stopped_watchers", {"cmd": "unwatch"}, READY_TIMEOUT_S)

    async def start_clients(self, indexes: Iterable[int]) -> None:
        """Start the config clients of `indexes`, each in the worker that holds it."""
        by_worker: dict[int, list[int]] = defaultdict(list)
        for index in indexes:
            by_worker[index % self.workers].append(index)
        for n, group in by_worker.items():
            self._processes[n].send({"cmd": "clients", "indexes": group})
        for n in by_worker:
            reply = await self._processes[n].reply(READY_TIMEOUT_S)
            if reply["ev"] != "started":
                raise RuntimeError(f"{self._processes[n].name}: expected started, got {reply}")

    async def settle(self) -> int:
        """Have every worker wait for its clients' last-known-good files and freeze what it
        has allocated (Worker.settle); returns the objects frozen."""
        replies = await self._all("settled", {"cmd": "settle"}, SETTLE_REPLY_TIMEOUT_S)
        return sum(int(reply["objects"]) for reply in replies)

    async def check(self, timeout: float = 60.0) -> dict[int, dict[str, Any]]:
        replies = await self._all("check", {"cmd": "check"}, timeout)
        return {int(i): state for reply in replies for i, state in reply["clients"].items()}

    async def _all(self, expect: str, command: dict[str, Any] | None, timeout: float) -> list[dict[str, Any]]:
        if command is not None:
            for process in self._processes:
                process.send(command)
        replies = [await p.reply(timeout) for p in self._processes]
        for process, reply in zip(self._processes, replies):
            if reply["ev"] != expect:
                raise RuntimeError(f"{process.name}: expected {expect}, got {reply}")
        return replies

    async def stop(self) -> None:
        """Ask each worker to stop; kill its process group if it does not exit in time."""
        for process in self._processes:
            with contextlib.suppress(Exception):
                process.send({"cmd": "stop"})
                assert process.proc.stdin is not None
                process.proc.stdin.close()
        for process in self._processes:
            try:
                await asyncio.wait_for(process.proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                # Its own session: the group id is its pid and holds only what we started.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.proc.pid, signal.SIGKILL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.proc.wait(), STOP_TIMEOUT_S)
            process.reader.cancel()
        self._processes.clear()
