"""Audit writer throughput: how many records per second AuditLog sustains, writing and
fsyncing each batch, with a checkpoint every --checkpoint-every records.

    python -m bench.audit_throughput [--records N] [--batch-max N] [--dir DIR]

The producer appends as fast as the log accepts, backing off only when append raises (the
queue is at capacity), so the figure is the writer's, not the producer's. Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from certs.ca import create_intermediate, create_root, issue_workload
from mesh.audit import AuditLog, AuditSettings, AuditUnavailable, MemoryCheckpointSink, Record, message_digest
from mesh.audit.segment import OsSegmentFile, SegmentFile

_WRITER = "spiffe://tsunagi.bench/org/131008/sys/kaigo"
_PEER = "spiffe://tsunagi.bench/org/131008/sys/juki"


class _CountingFile:
    """An OsSegmentFile that counts its fsyncs (one per batch)."""

    syncs = 0

    def __init__(self, path: Path, create: bool) -> None:
        self._inner = OsSegmentFile(path, create)

    def write(self, data: bytes) -> None:
        self._inner.write(data)

    def sync(self) -> None:
        _CountingFile.syncs += 1
        self._inner.sync()

    def truncate(self, size: int) -> None:
        self._inner.truncate(size)

    def close(self) -> None:
        self._inner.close()


def _opener(path: Path, create: bool) -> SegmentFile:
    return _CountingFile(path, create)


def _record(index: int, now: datetime) -> Record:
    return Record(
        exchange_id=f"{index:08x}-7d2b-4e1a-9c55-7d2b6f0e9a11", time=now, side="outbound",
        caller=_WRITER, callee=_PEER, method="/jp.city.Resident/GetResident",
        purpose="eldercare-mobility", decision="allow", rule="AccessPolicy/131008/resident#rules[0]",
        status="OK", mappings=("kaigo-resident@3",), request=message_digest(b"request"),
        response=message_digest(b"response"), config_version=7, config_revision=1200,
        duration=timedelta(milliseconds=2),
    )


async def _measure(directory: Path, records: int, settings: AuditSettings) -> dict[str, float | int]:
    root = create_root(trust_domain="tsunagi.bench")
    identity = issue_workload(create_intermediate(root), _WRITER)
    sink = MemoryCheckpointSink()
    log = AuditLog(directory, lambda: identity, sink, settings, opener=_opener)
    now = datetime.now(timezone.utc)
    prepared = [_record(i, now) for i in range(records)]
    stalls = 0
    async with asyncio.TaskGroup() as group:
        group.create_task(log.run())
        started = time.perf_counter()
        for item in prepared:
            for _ in range(1_000_000):  # bounded: the writer drains or close() times out
                try:
                    log.append(item)
                    break
                except AuditUnavailable:
                    stalls += 1
                    await asyncio.sleep(0.001)
            if log.backlog % 256 == 0:
                await asyncio.sleep(0)  # let the writer's callbacks run, as a server would
        await log.close(timeout=600.0)
        elapsed = time.perf_counter() - started
    return {
        "records": records,
        "seconds": round(elapsed, 3),
        "records_per_second": round(records / elapsed),
        "fsyncs": _CountingFile.syncs,
        "records_per_fsync": round(records / max(_CountingFile.syncs, 1), 1),
        "checkpoints": len(sink.checkpoints),
        "producer_stalls": stalls,
        "bytes_per_record": round(log.path.stat().st_size / records) if log.path else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch-max", type=int, default=1_000)
    parser.add_argument("--capacity", type=int, default=10_000)
    parser.add_argument("--checkpoint-every", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, help="where to write (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    settings = AuditSettings(capacity=args.capacity, headroom=max(1, args.capacity // 10),
                             batch_max=args.batch_max, checkpoint_every=args.checkpoint_every)
    if args.dir is not None:
        result = asyncio.run(_measure(args.dir, args.records, settings))
    else:
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
            result = asyncio.run(_measure(Path(scratch), args.records, settings))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
