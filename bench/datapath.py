"""The data-path benchmark: direct vs nginx pair vs bare forwarder pair vs sidecar pairs
(static config, with and without the audit log; from etcd through the control plane, with and
without the audit log).

`python -m bench.datapath [--rounds 3] [--quick]` starts one upstream and every path,
measures them in rotated order round after round, prints markdown tables of the medians
to stdout and writes every number to bench/results/datapath-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, Callable, TypeVar

import google.protobuf
import grpc
import structlog

from bench.h2load import H2loadPlan, h2load_version
from bench.identities import create_pki
from bench.measure import LoadPlan, measure
from bench.meshes import Meshes
from bench.nginx import nginx_problems, nginx_version
from bench.paths import PATH_NAMES, Bench, DataPath, Launched, launch, wait_ready
from bench.ports import free_ports
from bench.process import REPO, ChildFailed, Children
from bench.report import Metrics, add_added, flatten, markdown, medians, overheads, ratios
from mesh.store.local_etcd import ETCD_BINARY

RESULTS = REPO / "bench" / "results"
T = TypeVar("T")
_FAILURES = (ChildFailed, TimeoutError, RuntimeError, OSError, ValueError)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.datapath",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of alternation (>= 3 for the report)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 round, few requests (< 60 s)"
    )
    parser.add_argument(
        "--paths",
        default=",".join(PATH_NAMES),
        help="comma-separated subset of " + ",".join(PATH_NAMES),
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="sequential calls before each measured phase"
    )
    parser.add_argument(
        "--calls", type=int, default=2000, help="closed loop: sequential calls timed"
    )
    parser.add_argument("--rate", type=float, default=150.0, help="open loop: requests per second")
    parser.add_argument("--duration", type=float, default=8.0, help="open loop: seconds")
    parser.add_argument("--h2load-requests", type=int, default=4000, help="0 skips h2load")
    parser.add_argument("--h2load-clients", type=int, default=4)
    parser.add_argument("--h2load-streams", type=int, default=8)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup, args.calls, args.duration = 1, 20, 200, 1.5
        args.h2load_requests = min(args.h2load_requests, 400)
    args.paths = [p for p in args.paths.split(",") if p]
    unknown = sorted(set(args.paths) - set(PATH_NAMES))
    if unknown or "direct" not in args.paths:
        parser.error(f"--paths must include direct and only name {', '.join(PATH_NAMES)}")
    if args.rounds < 1 or args.calls < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--rounds, --calls, --rate and --duration must be positive")
    return args


def load_plan(args: argparse.Namespace) -> LoadPlan:
    h2 = None
    if args.h2load_requests > 0 and h2load_version() is not None:
        clients = max(1, min(args.h2load_clients, args.h2load_requests))
        h2 = H2loadPlan(requests=args.h2load_requests, clients=clients, streams=args.h2load_streams)
    return LoadPlan(
        warmup=args.warmup, calls=args.calls, rate=args.rate, duration=args.duration, h2load=h2
    )


def environment() -> dict[str, Any]:
    """Versions and machine facts, to judge whether two results are comparable."""
    return {
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "nginx": nginx_version(),
        "h2load": h2load_version(),
        "etcd": _first_line([ETCD_BINARY, "--version"]),
        "kernel": platform.release(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "loadavg": os.getloadavg(),
        "git_commit": _git_commit(),
    }


def run(args: argparse.Namespace, plan: LoadPlan) -> dict[str, Any]:
    """Bring every path up, measure the rounds, stop everything; return the raw results."""
    failed: dict[str, str] = {}
    if "nginx" in args.paths and (problems := nginx_problems()):
        failed["nginx"] = "; ".join(problems)
    rounds: list[dict[str, Any]] = []
    # Leaving the block stops the children (sidecars, proxies, upstream) first, then the
    # meshes' control planes and etcd, then removes the scratch dir.
    with (
        tempfile.TemporaryDirectory(prefix="tsunagi-bench-") as tmp,
        Meshes(Path(tmp) / "meshes") as meshes,
        Children(Path(tmp) / "logs") as children,
    ):
        workdir = Path(tmp)
        (upstream_port,) = free_ports(1)
        upstream_address = f"127.0.0.1:{upstream_port}"
        upstream = children.start_python("upstream", "bench.upstream", "--listen", upstream_address)
        pki = create_pki(workdir / "pki")
        bench = Bench(children, pki, workdir, upstream_address, meshes)
        ready = bring_up([p for p in args.paths if p not in failed], bench, failed)
        if "direct" not in ready:
            raise RuntimeError(f"the upstream never answered: {failed.get('direct', '')}")
        for number in range(args.rounds):
            names = list(ready)
            order = names[number % len(names) :] + names[: number % len(names)]
            raw: dict[str, Any] = {}
            for name in order:
                progress(f"round {number + 1}/{args.rounds}: {name} …")
                try:
                    raw[name] = measure(ready[name], plan, children, upstream.pid, workdir)
                except _FAILURES as err:
                    failed[name] = f"round {number + 1}: {err}"
                    progress(f"error: {name}: {failed[name]}")
                    for child in ready.pop(name).children:
                        children.stop(child)
                    continue
                progress(_summary_line(name, raw[name]))
            metrics: dict[str, Metrics] = {name: flatten(m) for name, m in raw.items()}
            add_added(metrics)
            rounds.append({"round": number + 1, "order": order, "raw": raw, "metrics": metrics})
    return {"rounds": rounds, "failed": failed}


def bring_up(names: list[str], bench: Bench, failed: dict[str, str]) -> dict[str, DataPath]:
    """Start every path at once (they start in parallel), then wait for each in turn."""
    launched: dict[str, Launched] = {}
    for name in names:
        try:
            launched[name] = launch(name, bench)
        except _FAILURES as err:
            failed[name] = f"start: {err}"
            progress(f"error: {name}: {failed[name]}")
    ready: dict[str, DataPath] = {}
    for name, started in launched.items():
        try:
            ready[name] = wait_ready(started)
        except _FAILURES as err:
            failed[name] = f"not ready: {err}"
            progress(f"error: {name}: {failed[name]}")
            for child in started.roles.values():
                bench.children.stop(child)
            continue
        progress(f"{name} ready at {ready[name].target} (counted pids {ready[name].processes})")
    return ready


def _summary_line(name: str, measurement: dict[str, Any]) -> str:
    metrics = flatten(measurement)
    fields = [
        ("c1_p50_us", "c1 p50 {:.0f}µs"),
        ("open_p50_us", "open p50 {:.0f}µs"),
        ("open_p99_us", "p99 {:.0f}µs"),
        ("open_cpu_ms_per_req_hop", "cpu/hop {:.3f}ms"),
        ("h2_rps", "h2load {:.0f}rps"),
        ("errors", "errors {:.0f}"),
    ]
    return f"  {name}: " + ", ".join(
        fmt.format(metrics[k]) for k, fmt in fields if metrics.get(k) is not None
    )


def guarded(job: Callable[[], T]) -> T | int:
    """job()'s result, or the exit status when it was interrupted (130) or failed (1); its
    processes are stopped either way."""
    try:
        return job()
    except KeyboardInterrupt:
        progress("interrupted; every process was stopped")
        return 130
    except _FAILURES as err:
        progress(f"error: {err}")
        return 1


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    return _first_line(["git", "-C", str(REPO), "rev-parse", "HEAD"])


def _first_line(argv: list[str]) -> str | None:
    """The first line a command prints, or None when it cannot run or fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    return done.stdout.splitlines()[0].strip()


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so every child is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    # LocalMesh logs in this process (etcd started, stopped): keep stdout for the tables.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    plan = load_plan(args)
    started = datetime.now(timezone.utc)
    env = environment()
    clock = time.monotonic()
    outcome = guarded(lambda: run(args, plan))
    if isinstance(outcome, int):
        return outcome
    measured = [p for p in args.paths if any(p in r["metrics"] for r in outcome["rounds"])]
    median = medians([r["metrics"] for r in outcome["rounds"]], measured)
    ratio = ratios(median)
    overhead = overheads([r["metrics"] for r in outcome["rounds"]])
    print(markdown(median, ratio, outcome["failed"], overhead))
    document = {
        "benchmark": "datapath",
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - clock, 1),
        "environment": env | {"loadavg_after": os.getloadavg()},
        "settings": {
            "rounds": args.rounds,
            "quick": args.quick,
            "paths": args.paths,
            "warmup": args.warmup,
            "calls": args.calls,
            "rate": args.rate,
            "duration": args.duration,
            "h2load": (
                None
                if plan.h2load is None
                else {
                    "requests": plan.h2load.requests,
                    "clients": plan.h2load.clients,
                    "streams": plan.h2load.streams,
                }
            ),
        },
        "median": median,
        "ratios": ratio,
        "overheads": overhead,
        "failed": outcome["failed"],
        "rounds": outcome["rounds"],
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"datapath-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    progress(f"wrote {out} ({document['wall_seconds']} s)")
    return 0 if not outcome["failed"] else 2


if __name__ == "__main__":
    sys.exit(main())
