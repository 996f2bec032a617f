"""One feature on against off, interleaved: what it costs a sidecar pair, with both pairs
under the same load at the same moments.

`python -m bench.ab [--off mesh --on mesh-audit] [--blocks 8]` starts the upstream and both
paths (as bench.datapath does), then runs `--blocks` blocks. In each block one load generator
takes turns between the two paths:

- **c1**: `--calls` sequential calls to each path, alternating call by call;
- **open**: `--rate` requests per second to each path for `--duration` seconds, the two
  schedules offset by half an interval (75/s each by default: two pairs at 150/s each would
  saturate 2 cores, and queueing would then swamp the difference).

The CPU of both pairs' hops is read over the same window, so drift of the machine (other
processes, frequency, steal) falls on both alike; bench.datapath measures paths one after
another, minutes apart, and on a shared 2-core machine that drift is larger than the few
per cent being looked for. Which path gets the first turn alternates from block to block.
CPU is read from /proc in clock ticks (10 ms), so a block needs about 1000 requests per path
for a resolution near 10 µs per request.

Per block and phase: CPU ms per request per hop ((A + B) / 2) and p50 / p99 for each path,
and the on-minus-off differences. The tables give the median of each across blocks, and the
spread (lowest and highest block) of the differences. Markdown on stdout; every number in
bench/results/ab-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import structlog

from bench.datapath import RESULTS, bring_up, environment, guarded, interrupt, progress
from bench.identities import create_pki
from bench.measure import cpu_of, expect_line, read_line
from bench.meshes import Meshes
from bench.paths import PATH_NAMES, Bench, DataPath
from bench.ports import free_ports
from bench.process import Children

_START_TIMEOUT_S = 60.0
PHASES = ("c1", "open")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--off", default="mesh", help="the path without the feature")
    parser.add_argument("--on", default="mesh-audit", help="the path with it")
    parser.add_argument("--blocks", type=int, default=8, help="blocks of turn-taking load")
    parser.add_argument("--warmup", type=int, default=200, help="sequential calls per path first")
    parser.add_argument("--calls", type=int, default=1000, help="c1: sequential calls per path per block")
    parser.add_argument("--rate", type=float, default=75.0, help="open: requests per second per path")
    parser.add_argument("--duration", type=float, default=8.0, help="open: seconds per block")
    parser.add_argument("--audit", default="", metavar="FIELD=VALUE,…",
                        help="extra fields of the audit paths' sidecar `audit:` section, "
                             "e.g. batchLinger=0.05s,syncInterval=1s")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        args.audit_options = _audit_options(args.audit)
    except ValueError as err:
        parser.error(f"--audit: {err}")
    for name in (args.off, args.on):
        if name not in PATH_NAMES or name == "direct":
            parser.error(f"--off and --on name proxy paths: {', '.join(PATH_NAMES[1:])}")
    if args.off == args.on or args.blocks < 1 or args.calls < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--off and --on must differ; --blocks, --calls, --rate, --duration positive")
    return args


def _audit_options(text: str) -> dict[str, object]:
    options: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise ValueError(f"{item!r} is not FIELD=VALUE")
        options[field] = {"true": True, "false": False}.get(value, value)  # YAML-like booleans
    return options


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Bring both paths up, run the blocks, stop everything; the raw block results."""
    blocks: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="tsunagi-ab-") as tmp,
        Meshes(Path(tmp) / "meshes") as meshes,
        Children(Path(tmp) / "logs") as children,
    ):
        (upstream_port,) = free_ports(1)
        upstream = f"127.0.0.1:{upstream_port}"
        children.start_python("upstream", "bench.upstream", "--listen", upstream)
        bench = Bench(children, create_pki(Path(tmp) / "pki"), Path(tmp), upstream, meshes,
                      audit_options=args.audit_options)
        failed: dict[str, str] = {}
        ready = bring_up(["direct", args.off, args.on], bench, failed)
        if failed:
            raise RuntimeError("; ".join(f"{name}: {why}" for name, why in failed.items()))
        pair = (ready[args.off], ready[args.on])
        for number in range(args.blocks):
            order = pair if number % 2 == 0 else pair[::-1]
            progress(f"block {number + 1}/{args.blocks}: {order[0].name} first")
            block: dict[str, Any] = {"block": number + 1, "first": order[0].name}
            block["c1"] = _phase(children, order, ["closed", f"--calls={args.calls}"], args.warmup,
                                 budget_s=args.calls * 0.05)
            block["open"] = _phase(children, order, ["open", f"--rate={args.rate}",
                                                     f"--duration={args.duration}"], args.warmup,
                                   budget_s=args.duration * 3)
            progress("  " + _summary(block, args))
            blocks.append(block)
    return blocks


def _summary(block: dict[str, Any], args: argparse.Namespace) -> str:
    parts = []
    for phase in PHASES:
        off, on = block[phase][args.off], block[phase][args.on]
        parts.append(f"{phase}: cpu/hop {off['cpu_ms_per_req_hop']:.3f} vs {on['cpu_ms_per_req_hop']:.3f} ms, "
                     f"p50 {off['p50_us']:.0f} vs {on['p50_us']:.0f} µs")
    return "; ".join(parts)


def _phase(children: Children, order: tuple[DataPath, ...], mode_args: list[str], warmup: int,
           budget_s: float) -> dict[str, Any]:
    """One generator taking turns between the paths; CPU of every hop over its measured part."""
    targets = [f"--target={path.target}" for path in order]
    generator = children.start_python(f"ab-{mode_args[0]}", "bench.load", *mode_args, *targets,
                                      f"--warmup={warmup}", piped=True)
    watched = {f"{path.name}/{role}": pids for path in order for role, pids in path.processes.items()}
    try:
        expect_line(generator, read_line(generator, _START_TIMEOUT_S), "ready")
        before = cpu_of(watched)
        assert generator.popen.stdin is not None
        generator.popen.stdin.write(b"go\n")
        generator.popen.stdin.flush()
        result = json.loads(read_line(generator, _START_TIMEOUT_S + budget_s))
        after = cpu_of(watched)
    finally:
        children.stop(generator)
    measured: dict[str, Any] = {}
    for path, load in zip(order, result["targets"]):
        if load["errors"] or not load["ok"]:
            raise RuntimeError(f"{path.name}: {load['errors']} failed calls ({load['error_codes']})")
        spent = [after[f"{path.name}/{role}"] - before[f"{path.name}/{role}"] for role in path.processes]
        measured[path.name] = {
            "cpu_ms_per_req_hop": sum(spent) / len(spent) * 1000 / load["ok"],
            "p50_us": load["latency_us"]["p50"],
            "p99_us": load["latency_us"]["p99"],
            "load": load,
        }
    return measured


def summarize(blocks: list[dict[str, Any]], off: str, on: str) -> dict[str, Any]:
    """Per phase: medians across blocks of each path's figures and of the paired differences."""
    summary: dict[str, Any] = {}
    for phase in PHASES:
        rows = [block[phase] for block in blocks]
        cpu_off = [row[off]["cpu_ms_per_req_hop"] for row in rows]
        cpu_on = [row[on]["cpu_ms_per_req_hop"] for row in rows]
        extra_pct = [(b - a) / a * 100 for a, b in zip(cpu_off, cpu_on) if a > 0]
        extra_us = [(b - a) * 1000 for a, b in zip(cpu_off, cpu_on)]
        d50 = [row[on]["p50_us"] - row[off]["p50_us"] for row in rows]
        d99 = [row[on]["p99_us"] - row[off]["p99_us"] for row in rows]
        summary[phase] = {
            "cpu_ms_per_req_hop": {off: statistics.median(cpu_off), on: statistics.median(cpu_on)},
            "p50_us": {off: statistics.median(r[off]["p50_us"] for r in rows),
                       on: statistics.median(r[on]["p50_us"] for r in rows)},
            "extra_cpu_pct": _spread(extra_pct),
            "extra_cpu_us": _spread(extra_us),
            "delta_p50_us": _spread(d50),
            "delta_p99_us": _spread(d99),
        }
    return summary


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def markdown(summary: dict[str, Any], off: str, on: str, blocks: int) -> str:
    lines = [
        f"### {on} against {off}, interleaved ({blocks} blocks; median, and [lowest, highest] block)",
        "",
        f"| phase | CPU ms/req/hop {off} | {on} | extra CPU % | extra CPU µs | p50 µs {off} | {on} "
        "| Δ p50 µs | Δ p99 µs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        row = summary[phase]
        lines.append(
            f"| {phase} | {row['cpu_ms_per_req_hop'][off]:.3f} | {row['cpu_ms_per_req_hop'][on]:.3f} "
            f"| {_fmt(row['extra_cpu_pct'], '{:+.1f}')} | {_fmt(row['extra_cpu_us'], '{:+.0f}')} "
            f"| {row['p50_us'][off]:.0f} | {row['p50_us'][on]:.0f} "
            f"| {_fmt(row['delta_p50_us'], '{:+.0f}')} | {_fmt(row['delta_p99_us'], '{:+.0f}')} |")
    return "\n".join(lines)


def _fmt(spread: dict[str, float], number: str) -> str:
    return (f"{number.format(spread['median'])} "
            f"[{number.format(spread['low'])}, {number.format(spread['high'])}]")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    started = datetime.now(timezone.utc)
    env = environment()
    clock = time.monotonic()
    blocks = guarded(lambda: run(args))
    if isinstance(blocks, int):
        return blocks
    summary = summarize(blocks, args.off, args.on)
    print(markdown(summary, args.off, args.on, len(blocks)))
    document = {
        "benchmark": "ab",
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - clock, 1),
        "environment": env | {"loadavg_after": os.getloadavg()},
        "settings": {key: (str(value) if isinstance(value, Path) else value)
                     for key, value in vars(args).items()},
        "summary": summary,
        "blocks": blocks,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"ab-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    progress(f"wrote {out} ({document['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
