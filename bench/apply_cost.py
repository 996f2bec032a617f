"""The control plane's cost per Apply: CPU and wall time of one single-Route apply through
`control_plane.repository.Repository.apply`, on a real etcd, as the config grows.

    python -m bench.apply_cost [--sizes 10,100,1000] [--applies 50] [--profile]

Per size N: a fresh single-member etcd (mesh.store.local_etcd, mTLS and auth) and a
Repository with its own signer, populated with bench.propagation's mesh (one Organization, a
provider System and Service, N consumer Systems with one Route each) in applies of at most
150 documents. Then `--applies` applies, each changing one Route's timeout (the same change
bench.propagation times), one after another. Reported per apply: this process's CPU time
(time.process_time: load, verify, parse, validate, sign, commit; etcd is another process) and
wall time, median and p90. Markdown on stdout; JSON in bench/results/apply-cost-<UTC>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import pstats
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import structlog
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import Message

from bench.process import REPO
from bench.propagation.documents import MAX_BATCH, change, mesh_documents
from certs.ca import create_intermediate, create_root, issue_workload
from control_plane.repository import Repository
from mesh.resources import from_dict
from mesh.signing import SIGNER_PATH, Signer
from mesh.store.local_etcd import LocalEtcd
from mesh.v1 import control_plane_pb2 as api

TRUST_DOMAIN = "bench.test"
ACTOR = f"spiffe://{TRUST_DOMAIN}/org/000000/operator/bench"
WARMUP = 3
RESULTS = REPO / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.apply_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated consumer counts")
    parser.add_argument("--applies", type=int, default=50, help="timed single-Route applies per size")
    parser.add_argument("--profile", action="store_true",
                        help="also print the top functions (cProfile, cumulative) of the timed applies")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def _parsed(text: str) -> list[tuple[str, Message]]:
    return [(f"doc#{i + 1}", from_dict(d)) for i, d in enumerate(yaml.safe_load_all(text))]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure_size(size: int, applies: int, work: Path, profile: bool) -> dict[str, Any]:
    """Populate a fresh etcd with `size` consumers, then time `applies` Route changes."""
    root = create_root("Bench Root CA")
    intermediate = create_intermediate(root, "Bench Intermediate CA")
    issued = issue_workload(intermediate, f"spiffe://{TRUST_DOMAIN}{SIGNER_PATH}")
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    async with LocalEtcd(work / f"etcd-{size}", intermediate, root.cert_pem()) as etcd:
        store = etcd.store_for(etcd.writer_user)
        try:
            repo = Repository(store, Signer(issued.key, issued.cert), issued.chain_pem(),
                              [root.cert], TRUST_DOMAIN)
            docs = mesh_documents(TRUST_DOMAIN, size)
            populate_start = time.perf_counter()
            for i in range(0, len(docs), MAX_BATCH):
                objects = [(f"doc#{j}", from_dict(d)) for j, d in enumerate(docs[i:i + MAX_BATCH])]
                await repo.apply(objects, ACTOR, dry_run=False)
            populate_s = time.perf_counter() - populate_start
            changes = [_parsed(change(seq, size).text) for seq in range(1, WARMUP + applies + 1)]
            for objects in changes[:WARMUP]:
                await repo.apply(objects, ACTOR, dry_run=False)
            cpu_ms, wall_ms = [], []
            profiler = cProfile.Profile() if profile else None
            for objects in changes[WARMUP:]:
                if profiler:
                    profiler.enable()
                cpu, wall = time.process_time(), time.perf_counter()
                outcome = await repo.apply(objects, ACTOR, dry_run=False)
                cpu_ms.append((time.process_time() - cpu) * 1000)
                wall_ms.append((time.perf_counter() - wall) * 1000)
                if profiler:
                    profiler.disable()
                if [r.action for r in outcome.results] != [api.APPLY_ACTION_CONFIGURED]:
                    raise RuntimeError("a timed apply did not change its Route")
            if profiler:
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
                print(f"--- profile, N={size} ---\n{text.getvalue()}", file=sys.stderr)
        finally:
            await store.close()
    return {
        "consumers": size,
        "objects": len(docs),
        "applies": applies,
        "populate_s": round(populate_s, 2),
        "cpu_ms_p50": round(statistics.median(cpu_ms), 2),
        "cpu_ms_p90": round(_percentile(cpu_ms, 0.9), 2),
        "wall_ms_p50": round(statistics.median(wall_ms), 2),
        "wall_ms_p90": round(_percentile(wall_ms, 0.9), 2),
        "cpu_ms": [round(v, 3) for v in cpu_ms],
        "wall_ms": [round(v, 3) for v in wall_ms],
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| N consumers | objects | CPU ms / apply p50 | p90 | wall ms / apply p50 | p90 | populate s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['consumers']} | {r['objects']} | {r['cpu_ms_p50']} | {r['cpu_ms_p90']} | "
                     f"{r['wall_ms_p50']} | {r['wall_ms_p90']} | {r['populate_s']} |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    # Only warnings: the per-apply config_written line would drown the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    with tempfile.TemporaryDirectory(prefix="apply-cost-") as tmp:
        for size in sizes:
            print(f"N={size}: populating and timing {args.applies} applies", file=sys.stderr)
            rows.append(await measure_size(size, args.applies, Path(tmp), args.profile))
    print(markdown(rows))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.results_dir / f"apply-cost-{stamp}.json"
    out.write_text(json.dumps({"rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
