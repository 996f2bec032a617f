"""One measurement of one path: each load phase (closed loop, open loop, h2load) with a CPU
window around exactly its measured part, then the proxies' resident memory."""

from __future__ import annotations

import json
import select
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.h2load import H2loadPlan, run_h2load, write_grpc_body
from bench.paths import DataPath
from bench.process import Child, ChildFailed, Children
from bench.procstat import cpu_seconds, rss_kib
from bench.upstream import PAYLOAD_BYTES

_MAX_LINE_BYTES = 1 << 16
_START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How hard and how long each phase pushes. h2load None skips that phase."""

    warmup: int
    calls: int
    rate: float
    duration: float
    h2load: H2loadPlan | None


def measure(
    path: DataPath, plan: LoadPlan, children: Children, upstream_pid: int, scratch: Path
) -> dict[str, Any]:
    """Run every phase against `path`. CPU counts the path's hops and, as a control, the
    upstream."""
    watched = {**path.processes, "upstream": (upstream_pid,)}
    result: dict[str, Any] = {"target": path.target}
    closed = ["closed", f"--calls={plan.calls}"]
    result["closed"] = _generator_phase(path, plan, children, watched, closed, plan.calls * 0.1)
    open_ = ["open", f"--rate={plan.rate}", f"--duration={plan.duration}"]
    result["open"] = _generator_phase(path, plan, children, watched, open_, plan.duration * 3)
    if plan.h2load is not None:
        result["h2load"] = _h2load_phase(path, plan.h2load, watched, scratch)
    result["rss_kib"] = {
        role: sum(rss_kib(pid) for pid in pids) for role, pids in path.processes.items()
    }
    return result


def _generator_phase(
    path: DataPath,
    plan: LoadPlan,
    children: Children,
    watched: dict[str, tuple[int, ...]],
    mode_args: list[str],
    budget_seconds: float,
) -> dict[str, Any]:
    """Start a load generator, let it warm up, then time its measured part alone."""
    argv = [*mode_args, f"--target={path.target}", f"--warmup={plan.warmup}"]
    generator = children.start_python(
        f"load-{mode_args[0]}-{path.name}", "bench.load", *argv, piped=True
    )
    try:
        expect_line(generator, read_line(generator, _START_TIMEOUT_SECONDS), "ready")
        before = cpu_of(watched)
        assert generator.popen.stdin is not None
        generator.popen.stdin.write(b"go\n")
        load = json.loads(read_line(generator, _START_TIMEOUT_SECONDS + budget_seconds))
        after = cpu_of(watched)
    finally:
        children.stop(generator)
    return {"load": load, "cpu_ms_per_request": _per_request(before, after, load["ok"])}


def _h2load_phase(
    path: DataPath, plan: H2loadPlan, watched: dict[str, tuple[int, ...]], scratch: Path
) -> dict[str, Any]:
    body = scratch / "grpc-body.bin"
    if not body.exists():
        write_grpc_body(body, PAYLOAD_BYTES)
    # A fresh log file per run: h2load appends.
    log_file = scratch / f"h2load-{path.name}-{time.monotonic_ns()}.log"
    # Unmeasured warm-up at full concurrency: nginx opens one upstream connection (and TLS
    # handshake) per concurrent stream; the gRPC proxies multiplex on one.
    warm_log = log_file.with_suffix(".warmup")
    run_h2load(path.target, replace(plan, requests=plan.clients * plan.streams * 4), body, warm_log)
    warm_log.unlink(missing_ok=True)
    before = cpu_of(watched)
    load = run_h2load(path.target, plan, body, log_file)
    after = cpu_of(watched)
    log_file.unlink(missing_ok=True)
    return {"load": load, "cpu_ms_per_request": _per_request(before, after, load["succeeded"])}


def cpu_of(watched: dict[str, tuple[int, ...]]) -> dict[str, float]:
    return {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in watched.items()}


def _per_request(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float | None]:
    if requests <= 0:
        return {role: None for role in before}
    return {role: round((after[role] - before[role]) * 1000 / requests, 4) for role in before}


def read_line(child: Child, timeout: float) -> bytes:
    """One line of the child's stdout, waiting at most `timeout` seconds."""
    stdout = child.popen.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):  # bounded by the deadline and the line size
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChildFailed(child, f"no answer within {timeout:.0f}s")
        if len(line) > _MAX_LINE_BYTES:
            raise ChildFailed(child, "answered an over-long line")
        readable, _, _ = select.select([stdout], [], [], remaining)
        if readable:
            chunk = stdout.read(1)
            if not chunk:
                raise ChildFailed(child, f"exited ({child.popen.wait()}) without answering")
            line += chunk
    return line


def expect_line(child: Child, line: bytes, key: str) -> None:
    try:
        if json.loads(line).get(key):
            return
    except ValueError:
        pass
    raise ChildFailed(child, f"said {line[:200]!r}, expected {key!r}")
