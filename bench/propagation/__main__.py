"""`python -m bench.propagation [--sizes 10,100,1000] [--changes 100] [--quick]`

For each fleet size N: a fresh local mesh (etcd with TLS and auth, the control plane process),
N consumer Systems + Routes applied through the control plane's API, N raw etcd watchers and
N real config clients (sidecar.config_client) spread over worker processes. Changes go in
through ConfigService.Apply; each is timed until every client has swapped it in. Markdown on
stdout (progress on stderr), everything in bench/results/propagation-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import cryptography
import google.protobuf
import grpc

from bench.process import REPO
from bench.propagation.report import markdown
from bench.propagation.scenario import Plan, SizeRun
from mesh.store.local_etcd import ETCD_BINARY

RESULTS = REPO / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.propagation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="comma-separated fleet sizes (default 10,100,1000)")
    parser.add_argument("--changes", type=int, default=None, help="sequential changes per phase (default 100)")
    parser.add_argument("--burst", type=int, default=None, help="changes per burst, 0 skips (default 100)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: sizes 10,100, 10 changes, bursts of 20 (a few minutes)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes for the clients")
    parser.add_argument("--gap-ms", type=float, default=50.0, help="pause after a change is everywhere")
    parser.add_argument("--change-timeout-s", type=float, default=300.0,
                        help="a change not everywhere by then ends its phase")
    parser.add_argument("--phase-budget-s", type=float, default=900.0,
                        help="a sequential phase stops after this long, whatever --changes says")
    parser.add_argument("--burst-timeout-s", type=float, default=600.0,
                        help="bound on waiting for a burst's last version; bursts projected to take "
                             "longer are skipped")
    parser.add_argument("--wave", type=int, default=50,
                        help="clients started per wave, each wave applied before the next (0: all "
                             "at once, which at N=1000 drove etcd past 19 GB here)")
    parser.add_argument("--etcd-rss-limit-mib", type=int, default=4096,
                        help="a size stops when etcd's resident memory passes this")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, etcd data)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [int(s) for s in (args.sizes or ("10,100" if quick else "10,100,1000")).split(",") if s]
    args.changes = args.changes if args.changes is not None else (10 if quick else 100)
    args.burst = args.burst if args.burst is not None else (20 if quick else 100)
    if not args.sizes or min(args.sizes) < 1 or args.changes < 1 or args.burst < 0 or args.workers < 1 \
            or args.wave < 0:
        parser.error("--sizes, --changes and --workers must be positive, --burst and --wave not negative")
    return args


def environment() -> dict[str, Any]:
    """Versions and machine facts, to judge whether two results are comparable."""
    return {
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "cryptography": cryptography.__version__,
        "etcd": _first_line([ETCD_BINARY, "--version"]),
        "kernel": platform.release(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "loadavg": os.getloadavg(),
        "git_commit": _first_line(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "clock": "CLOCK_MONOTONIC (time.monotonic), system-wide on Linux, in every process; a "
                 "change's commit time is its first sign: a watcher's arrival, the control plane's "
                 "log line (wall clock moved onto it) or the write's return",
    }


def _first_line(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


async def run(args: argparse.Namespace, workdir: Path, save: Callable[[list[dict[str, Any]]], None]
              ) -> list[dict[str, Any]]:
    """Each size in turn; the results so far are saved after each one. SIGTERM or Ctrl-C
    stops the size in progress (everything it started is stopped) and keeps the others."""
    plan = Plan(changes=args.changes, burst=args.burst, workers=args.workers, gap_s=args.gap_ms / 1000,
                change_timeout_s=args.change_timeout_s, phase_budget_s=args.phase_budget_s,
                burst_timeout_s=args.burst_timeout_s, wave=args.wave,
                etcd_rss_limit_mib=args.etcd_rss_limit_mib)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    results: list[dict[str, Any]] = []
    for size in args.sizes:
        try:
            results.append(await SizeRun(size, plan, workdir / f"n{size}").run())
        except asyncio.CancelledError:
            # Ours to end: the signal above (or Ctrl-C) asked for it; report what was done.
            results.append({"size": size, "error": "interrupted"})
            save(results)
            break
        save(results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = environment()
    started = datetime.now(timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"propagation-{stamp}.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}

    def save(sizes: list[dict[str, Any]]) -> None:
        text = markdown(sizes)
        document = {"benchmark": "propagation", "started": started.isoformat(), "settings": settings,
                    "environment": {**env, "loadavg_now": os.getloadavg()}, "sizes": sizes,
                    "markdown": text}
        path.write_text(json.dumps(document, indent=1))
        path.with_suffix(".md").write_text(text)

    workdir = Path(tempfile.mkdtemp(prefix="tsunagi-propagation-"))
    try:
        sizes = asyncio.run(run(args, workdir, save))
    except KeyboardInterrupt:
        sizes = json.loads(path.read_text())["sizes"] if path.exists() else []
    finally:
        if args.keep:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(markdown(sizes))
    print(f"results: {path}", file=sys.stderr)
    return 2 if any("error" in s for s in sizes) else 0


if __name__ == "__main__":
    sys.exit(main())
