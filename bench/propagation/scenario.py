"""One fleet size, end to end: a fresh local mesh (CA, etcd with TLS and auth, the control
plane process), N consumer Systems and Routes applied through the API, then the raw-watch
phase, the config-client phase, the bursts, the final check, and the control plane's memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.procstat import cpu_seconds
from bench.propagation.api import ConfigApi
from bench.propagation.burst import control_plane_signer, write_burst
from bench.propagation.commits import ClockOffset, read_commit_times
from bench.propagation.documents import GRPC_SERVICE, RouteChange, batches, change, mesh_documents
from bench.propagation.fleet import CLIENT, WATCHER, Fleet
from bench.propagation.timeline import Arrivals, Change, change_row, earliest, summary
from bench.propagation.worker import Spec
from control_plane.localmesh import CONTROL_PLANE_USER, SIDECAR_USER, LocalMesh
from mesh.store.local_etcd import ETCD_BINARY

OPERATOR = "bench"
FLEET_NICENESS = 10  # see worker.serve


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to do per size, and the bounds that keep a slow size from running forever."""

    changes: int
    burst: int
    workers: int
    gap_s: float
    change_timeout_s: float
    phase_budget_s: float
    burst_timeout_s: float
    # Clients started per wave (0: all at once) and the etcd RSS that aborts the size: a
    # fleet listing a large config all at once can drive etcd's memory up without bound.
    wave: int = 50
    etcd_rss_limit_mib: int = 4096


def _progress(message: str) -> None:
    print(f"[propagation] {message}", flush=True, file=sys.stderr)


def etcd_pids(workdir: Path) -> list[int]:
    """The etcd members whose data lives under `workdir` (LocalEtcd keeps its pids private)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0] == ETCD_BINARY.encode() and any(
                a.startswith(b"--data-dir=" + str(workdir).encode()) for a in argv):
            found.append(int(entry.name))
    return found


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found


class SizeRun:
    """Owns everything started for one size; `run()` always stops it all again."""

    def __init__(self, size: int, plan: Plan, workdir: Path) -> None:
        self.size = size
        self.plan = plan
        self.workdir = workdir
        self.mesh = LocalMesh(workdir / "mesh")
        self.meshconfig = self.mesh.add_operator(OPERATOR, "platform-admin")
        self.fleet = Fleet(size, plan.workers, workdir / "logs", FLEET_NICENESS)
        # One idle watcher in a process of its own: one more early observer of each commit.
        self.reference = Fleet(1, 1, workdir / "logs" / "reference")
        self.api: ConfigApi | None = None
        self.cp_pid: int | None = None
        self.tripped: str | None = None
        self.seq = 0
        self.expected: dict[int, float] = {}  # index → the route timeout it must end with
        self.result: dict[str, Any] = {"size": size, "workers": self.fleet.workers}
        self.changes: dict[str, list[Change]] = {}
        self.marks: dict[str, int] = {}

    async def run(self) -> dict[str, Any]:
        """Measure; on an error or a tripped guard the size is reported as failed. An outside
        cancellation still stops everything, then propagates."""
        self.result["loadavg_before"] = os.getloadavg()
        offset_before = ClockOffset.sample()
        work = asyncio.create_task(self._run())
        guard = asyncio.create_task(self._guard(work))
        try:
            await work
        except asyncio.CancelledError:
            if self.tripped is None:
                raise
            self.result["error"] = self.tripped
        except Exception as exc:  # the size is reported as failed; the others still run
            self.result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            guard.cancel()
            if "error" in self.result:
                _progress(f"N={self.size}: failed: {self.result['error']}")
            await asyncio.shield(self._stop())
        offset_after = ClockOffset.sample()
        self.result["loadavg_after"] = os.getloadavg()
        clock = ClockOffset((offset_before + offset_after) / 2, offset_after - offset_before)
        self.result["clock_drift_ms"] = round(clock.drift * 1000, 3)
        self._analyse(read_commit_times(self.workdir / "mesh" / "control-plane" / "control-plane.log", clock))
        self.result["worker_errors"] = (self.fleet.errors() + self.reference.errors())[:20]
        return self.result

    async def _guard(self, work: asyncio.Task[None]) -> None:
        """Cancel `work` if etcd's resident memory passes the limit (checked every second)."""
        limit_kib = self.plan.etcd_rss_limit_mib * 1024
        while not work.done():  # bounded by the work it guards
            for pid in etcd_pids(self.workdir):
                with contextlib.suppress(OSError):
                    rss = proc_memory(pid).get("VmRSS", 0)
                    self.result["etcd_peak_rss_kib"] = max(rss, self.result.get("etcd_peak_rss_kib", 0))
                    if rss > limit_kib:
                        self.tripped = (f"etcd RSS {rss // 1024} MiB passed the {self.plan.etcd_rss_limit_mib} "
                                        "MiB limit; stopped to protect the machine")
                        work.cancel()
                        return
            await asyncio.sleep(1.0)

    async def _run(self) -> None:
        started = time.monotonic()
        await self.mesh.start()
        assert self.mesh.control_plane is not None and self.mesh.control_plane.proc is not None
        cp_pid = self.cp_pid = self.mesh.control_plane.proc.pid
        self.api = ConfigApi(self.meshconfig)
        docs = mesh_documents(self.mesh.trust_domain, self.size)
        texts = batches(docs)
        for text in texts:
            await self.api.apply(text, "populate")
        self.result["populate"] = {"documents": len(docs), "applies": len(texts),
                                   "seconds": round(time.monotonic() - started, 2)}
        self.result["cp_memory_kib"] = {"populated": proc_memory(cp_pid)}
        _progress(f"N={self.size}: mesh up, {len(docs)} documents applied in {len(texts)} applies")

        spec = self._spec()
        await self.fleet.start(spec)
        await self.reference.start(replace(spec, state_dir=self.workdir / "reference-state"))
        watchers_before = await self.mesh.etcd.watcher_count(0)
        await self.reference.start_watchers()
        await self.fleet.start_watchers()
        await self._wait_watchers(watchers_before + self.size + 1)
        self.marks["watch"] = len(self.fleet.recorder.events[WATCHER])
        self.changes["watch"] = await self._sequential("watch", [WATCHER])

        # The config clients run without the raw watchers beside them: N sidecars, not 2N
        # streams, share these two cores (the reference watcher stays as the commit anchor).
        await self.fleet.stop_watchers()
        self.marks["clients_a"] = len(self.fleet.recorder.events[CLIENT])
        await self._start_clients()
        cpu0 = self._cpu()
        self.changes["clients"] = await self._sequential("clients", [CLIENT])
        cpu1 = self._cpu()
        done = max(1, len(self.changes["clients"]))
        self.result["cpu_ms_per_change"] = {
            "control_plane": round((cpu1[0] - cpu0[0]) * 1000 / done, 1),
            "workers_per_client": round((cpu1[1] - cpu0[1]) * 1000 / done / self.size, 2)}

        await self._burst("burst_api", self._api_burst)
        await self._burst("burst_etcd", self._etcd_burst)
        await self._check()
        self.result["cp_memory_kib"]["end"] = proc_memory(cp_pid)

    def _spec(self) -> Spec:
        directory = self.workdir / "sidecar-etcd"
        directory.mkdir(parents=True, exist_ok=True)
        ca, cert, key = self.mesh.etcd.client_pems(SIDECAR_USER)
        (directory / "ca.pem").write_bytes(ca)
        (directory / "sidecar.crt").write_bytes(cert)
        key_file = directory / "sidecar.key"
        key_file.touch(mode=0o600)
        key_file.write_bytes(key)
        return Spec(self.mesh.etcd.endpoints, directory / "ca.pem", directory / "sidecar.crt", key_file,
                    self.mesh.bundle, self.mesh.trust_domain, [], self.workdir / "state", GRPC_SERVICE)

    async def _wait_watchers(self, wanted: int) -> None:
        """etcd's own watcher count: the watches exist before the first change is sent."""
        async with asyncio.timeout(60):
            while await self.mesh.etcd.watcher_count(0) < wanted:
                await asyncio.sleep(0.1)

    async def _start_clients(self) -> None:
        """Start the clients wave by wave; each wave must list and apply the current config
        before the next one starts."""
        current = max((v for v in self.fleet.recorder.newest[WATCHER].values()), default=0)
        started = time.monotonic()
        wave = self.plan.wave or self.size
        for first in range(0, self.size, wave):
            indexes = list(range(first, min(self.size, first + wave)))
            await self.fleet.start_clients(indexes)
            timeout = max(120.0, len(indexes) * 1.0)
            if not await self.fleet.recorder.wait_all(CLIENT, current, timeout, indexes):
                reached = self.fleet.recorder.count_at(CLIENT, current)
                raise TimeoutError(f"only {reached}/{first + len(indexes)} clients applied v{current} "
                                   f"within {timeout:.0f}s of their wave's start")
        self.result["clients_start"] = {"seconds": round(time.monotonic() - started, 2), "wave": wave,
                                        "frozen_objects": await self.fleet.settle()}
        _progress(f"N={self.size}: {self.size} clients listed and applied v{current} in "
                  f"{self.result['clients_start']['seconds']}s (waves of {wave})")

    def _next_change(self) -> RouteChange:
        self.seq += 1
        made = change(self.seq, self.size)
        self.expected[made.index] = made.timeout_s
        return made

    async def _sequential(self, phase: str, kinds: list[str]) -> list[Change]:
        """Up to plan.changes changes, each applied once the previous one is everywhere."""
        assert self.api is not None
        made: list[Change] = []
        deadline = time.monotonic() + self.plan.phase_budget_s
        for _ in range(self.plan.changes):
            applied = await self.api.apply(self._next_change().text, phase)
            made.append(Change(applied.version, applied.sent, applied.returned))
            for kind in kinds:
                if not await self.fleet.recorder.wait_all(kind, applied.version, self.plan.change_timeout_s):
                    reached = self.fleet.recorder.count_at(kind, applied.version)
                    self.result.setdefault("stopped", {})[phase] = (
                        f"v{applied.version} reached only {reached}/{self.size} "
                        f"{'clients' if kind == CLIENT else 'watchers'} within {self.plan.change_timeout_s:.0f}s")
                    return made
            if len(made) % 10 == 0 or time.monotonic() > deadline:
                _progress(f"N={self.size} {phase}: {len(made)} changes")
            if time.monotonic() > deadline:
                self.result.setdefault("stopped", {})[phase] = (
                    f"budget of {self.plan.phase_budget_s:.0f}s spent after {len(made)} changes")
                return made
            await asyncio.sleep(self.plan.gap_s)
        return made

    async def _api_burst(self, changes: list[RouteChange]) -> list[Change]:
        assert self.api is not None
        made = []
        for item in changes:
            applied = await self.api.apply(item.text, "burst")
            made.append(Change(applied.version, applied.sent, applied.returned))
        return made

    async def _etcd_burst(self, changes: list[RouteChange]) -> list[Change]:
        store = self.mesh.etcd.store_for(CONTROL_PLANE_USER)
        try:
            signer = control_plane_signer(self.workdir / "mesh" / "control-plane" / "control-plane.yaml")
            written = await write_burst(store, signer, changes)
        finally:
            await store.close()
        return [Change(w.version, w.sent, w.returned, committed=w.returned, committed_by="txn_return")
                for w in written]

    async def _burst(self, name: str, write: Callable[[list[RouteChange]], Awaitable[list[Change]]]) -> None:
        """plan.burst changes as fast as `write` can; then wait for the last version everywhere.
        Skipped when the sequential phase says the clients could not catch up in time."""
        sequential = summary([change_row(c, self._arrivals(CLIENT, "clients_a")) for c in self.changes["clients"]])
        per_change_s = sequential.get("all_ms", {}).get("p50", 0) / 1000
        stopped = "clients" in self.result.get("stopped", {})
        if self.plan.burst <= 0 or stopped or per_change_s * self.plan.burst > self.plan.burst_timeout_s:
            self.result[name] = {"skipped": (
                f"{self.plan.burst} changes at ~{per_change_s:.1f}s each would exceed "
                f"{self.plan.burst_timeout_s:.0f}s" if not stopped else "the sequential phase did not finish")}
            _progress(f"N={self.size} {name}: skipped")
            return
        changes = [self._next_change() for _ in range(self.plan.burst)]
        made = await write(changes)
        last = made[-1]
        ok = await self.fleet.recorder.wait_all(CLIENT, last.version, self.plan.burst_timeout_s)
        finished = time.monotonic()
        self.changes[name] = made
        self.result[name] = {
            "changes": len(made), "first_version": made[0].version, "last_version": last.version,
            "window_ms": round((last.returned - made[0].sent) * 1000, 1),
            "all_at_last_version": ok,
            "clients_at_last_version": self.fleet.recorder.count_at(CLIENT, last.version),
        }
        if not ok:
            self.result[name]["gave_up_after_s"] = round(finished - last.returned, 1)
        _progress(f"N={self.size} {name}: {len(made)} changes in {self.result[name]['window_ms']} ms, "
                  f"last version everywhere: {ok}")
        await asyncio.sleep(self.plan.gap_s)

    async def _check(self) -> None:
        """Every client ends on the newest version with its route's expected timeout."""
        states = await self.fleet.check()
        newest = max((s["version"] for s in states.values()), default=0)
        wrong = sorted(i for i, s in states.items()
                       if s["timeout"] is None or abs(s["timeout"] - self.expected.get(i, 5.0)) > 1e-6)
        behind = sorted(i for i, s in states.items() if s["version"] != newest)
        counters: dict[str, int] = {}
        for state in states.values():
            for name, value in state["counters"].items():
                counters[name] = counters.get(name, 0) + value
        self.result["final_check"] = {
            "clients": len(states), "newest_version": newest, "behind": behind[:20],
            "wrong_route_timeout": wrong[:20], "ok": not wrong and not behind and len(states) == self.size,
            "counters": counters}

    def _cpu(self) -> tuple[float, float]:
        assert self.cp_pid is not None
        return cpu_seconds(self.cp_pid), sum(cpu_seconds(pid) for pid in self.fleet.pids)

    def _arrivals(self, kind: str, mark: str) -> Arrivals:
        return Arrivals(self.fleet.recorder.first_at_or_after(kind, self.marks.get(mark, 0)), self.size)

    def _analyse(self, commits: dict[int, float]) -> None:
        """Per-change rows and summaries, each change anchored on the first sign of its commit."""
        views = {
            "watch": [("raw_watch", WATCHER, "watch")],
            "clients": [("propagation", CLIENT, "clients_a")],
            "burst_api": [("propagation", CLIENT, "clients_a")],
            "burst_etcd": [("propagation", CLIENT, "clients_a")],
        }
        observed = {"reference": self.reference.recorder.arrivals_of(WATCHER),
                    "watcher": self.fleet.recorder.arrivals_of(WATCHER),
                    "client": self.fleet.recorder.arrivals_of(CLIENT),
                    "cp_log": commits}
        for phase, made in self.changes.items():
            made = [earliest(c, observed) for c in made]
            for label, kind, mark in views[phase]:
                rows = [change_row(c, self._arrivals(kind, mark)) for c in made]
                if phase.startswith("burst"):
                    self.result[phase]["write_ms"] = [r["write_ms"] for r in rows]
                    times = self._arrivals(kind, mark).reached(made[-1].version)
                    if times is not None:
                        self.result[phase]["last_version_all_ms"] = rows[-1]["all_ms"]
                        self.result[phase]["first_write_to_all_ms"] = round((max(times) - made[0].sent) * 1000, 1)
                    continue
                self.result.setdefault("phases", {})[f"{phase}/{label}"] = {
                    "summary": summary(rows), "rows": rows}

    async def _stop(self) -> None:
        await self.fleet.stop()
        await self.reference.stop()
        if self.api is not None:
            await self.api.close()
        if self.cp_pid is not None:
            try:
                self.result.setdefault("cp_memory_kib", {})["before_stop"] = proc_memory(self.cp_pid)
            except OSError:
                pass
        await self.mesh.stop()
