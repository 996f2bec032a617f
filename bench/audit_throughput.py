"""Audit writer cost: how many records per second AuditLog sustains, and how much CPU one
record costs, per step and in a process that appends at a given rate.

    python -m bench.audit_throughput [--records N] [--batch-max N] [--dir DIR]   # throughput
    python -m bench.audit_throughput --encode [--rounds 5]                      # µs per step
    python -m bench.audit_throughput --rate 150,1000 [--seconds 4] [--rounds 3] # µs per record

Throughput: the producer appends as fast as the log accepts, backing off only when append
raises (the queue is at capacity), so the figure is the writer's, not the producer's; every
batch is written and fsynced, with a checkpoint every --checkpoint-every records.
--encode: CPU µs per record of each step, hot (bench.cputime): building a Record on the request
path (its payload digests included) and chaining it, against the general protobuf route.
--rate: the process's CPU (all threads, user + system, fsync included) per record while a
task appends at that rate, minus the same paced loop without a log, rounds alternating. It
is what a sidecar pays per exchange, cold caches and wakeups included. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import structlog

from bench.cputime import Case, alternate
from certs.ca import Issued, create_intermediate, create_root, issue_workload
from mesh.audit import AuditLog, AuditSettings, AuditUnavailable, MemoryCheckpointSink, Record, message_digest
from mesh.audit.chain import link
from mesh.audit.encoding import encode_record, record_hash
from mesh.audit.record import to_proto
from mesh.audit.segment import OsSegmentFile, SegmentFile

_WRITER = "spiffe://tsunagi.bench/org/131008/sys/kaigo"
_PEER = "spiffe://tsunagi.bench/org/131008/sys/juki"
_PAYLOAD = bytes(1024)  # the data-path benchmark's 1 KiB messages


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
    """An allowed unary exchange as a sidecar records it (digests of 1 KiB each way)."""
    return Record(
        exchange_id=f"{index:08x}-7d2b-4e1a-9c55-7d2b6f0e9a11", time=now, side="outbound",
        caller=_WRITER, callee=_PEER, method="/jp.city.Resident/GetResident",
        purpose="eldercare-mobility", decision="allow", rule="AccessPolicy/131008/resident#rules[0]",
        status="OK", mappings=("kaigo-resident@3",), request=message_digest(_PAYLOAD),
        response=message_digest(_PAYLOAD), config_version=7, config_revision=1200,
        duration=timedelta(milliseconds=2),
    )


def _identity() -> Issued:
    return issue_workload(create_intermediate(create_root(trust_domain="tsunagi.bench")), _WRITER)


async def _throughput(directory: Path, records: int, settings: AuditSettings) -> dict[str, float | int]:
    identity = _identity()
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
                await asyncio.sleep(0)  # let the loop run, as a server would
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


def _encode_cases() -> list[Case]:
    now = datetime.now(timezone.utc)
    sample = _record(1, now)
    batch = [_record(i, now) for i in range(100)]
    head = "ab" * 32

    def protobuf_route() -> None:  # what the writer did per record before record_encoding.py
        message = to_proto(sample, 7, head)
        message.hash = record_hash(message)
        encode_record(message)

    return [
        ("record (request path, 2 x 1 KiB digests)", lambda: _record(1, now)),
        ("link, per record (batch of 100)", lambda: link(batch, 7, head)),
        ("protobuf route, per record", protobuf_route),
    ]


def _encode(rounds: int, seconds: float) -> dict[str, Any]:
    results = alternate(_encode_cases(), rounds, seconds)
    for result in results:
        if result["case"].startswith("link"):  # one call links 100 records
            for key in ("us_per_call", "best_us_per_call"):
                result[key] /= 100
            result["rounds"] = [value / 100 for value in result["rounds"]]
    return {"mode": "encode", "rounds": rounds, "cases": results}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread: the writer's too
    return usage.ru_utime + usage.ru_stime


async def _paced_run(directory: Path | None, identity: Issued, rate: float, seconds: float,
                     settings: AuditSettings) -> float:
    """CPU seconds this process spent while appending at `rate` for `seconds` (no log when
    `directory` is None), and closing the log (everything appended is then durable)."""
    count = max(1, round(rate * seconds))
    now = datetime.now(timezone.utc)
    log = None if directory is None else AuditLog(directory, lambda: identity, MemoryCheckpointSink(), settings,
                                                  opener=_opener)
    async with asyncio.TaskGroup() as group:
        if log is not None:
            await log.open()
            group.create_task(log.run())
        spent = _cpu_seconds()
        started = time.perf_counter()
        for index in range(count):
            if log is not None:
                log.append(_record(index, now))  # made per call, as the data path does
            await asyncio.sleep(max(0.0, started + (index + 1) / rate - time.perf_counter()))
        if log is not None:
            # close() writes and fsyncs what is left and signs the last checkpoint: counted,
            # once per run (a poll for an empty backlog would cost more than it measures).
            await log.close(timeout=60.0)
        spent = _cpu_seconds() - spent
    return spent


async def _paced(rates: list[float], seconds: float, rounds: int, settings: AuditSettings) -> dict[str, Any]:
    identity = _identity()
    results = []
    for rate in rates:
        audit_us = []
        syncs = _CountingFile.syncs
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
            for number in range(rounds):
                count = max(1, round(rate * seconds))
                runs = [(None, "off"), (Path(scratch) / f"round-{number}", "on")]
                if number % 2:
                    runs.reverse()  # alternate which goes first
                spent = {name: await _paced_run(where, identity, rate, seconds, settings) for where, name in runs}
                audit_us.append((spent["on"] - spent["off"]) / count * 1e6)
        records = rounds * max(1, round(rate * seconds))
        results.append({"rate": rate, "audit_cpu_us_per_record": round(statistics.median(audit_us), 1),
                        "rounds": [round(value, 1) for value in audit_us],
                        "records_per_fsync": round(records / max(1, _CountingFile.syncs - syncs), 1)})
    return {"mode": "rate", "seconds": seconds, "batch_linger": settings.batch_linger, "rates": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch-max", type=int, default=1_000)
    parser.add_argument("--capacity", type=int, default=10_000)
    parser.add_argument("--checkpoint-every", type=int, default=1_000)
    parser.add_argument("--batch-linger", type=float, default=AuditSettings().batch_linger,
                        help="seconds the writer waits for more records before a batch")
    parser.add_argument("--sync-interval", type=float, default=AuditSettings().sync_interval,
                        help="seconds a written record waits for its fsync at most (0: every batch)")
    parser.add_argument("--dir", type=Path, help="where to write (default: a fresh temp dir)")
    parser.add_argument("--encode", action="store_true", help="CPU µs per record of each step")
    parser.add_argument("--rate", help="comma-separated records/s: CPU µs per record at that rate")
    parser.add_argument("--seconds", type=float, default=4.0, help="--rate: seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    settings = AuditSettings(capacity=args.capacity, headroom=max(1, args.capacity // 10),
                             batch_max=args.batch_max, checkpoint_every=args.checkpoint_every,
                             batch_linger=args.batch_linger, sync_interval=args.sync_interval)
    result: dict[str, Any]
    if args.encode:
        result = _encode(args.rounds, seconds=0.5)
    elif args.rate:
        rates = [float(rate) for rate in args.rate.split(",")]
        result = asyncio.run(_paced(rates, args.seconds, args.rounds, settings))
    elif args.dir is not None:
        result = asyncio.run(_throughput(args.dir, args.records, settings))
    else:
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
            result = asyncio.run(_throughput(Path(scratch), args.records, settings))
    result["sync_interval"] = args.sync_interval
    result["loadavg"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
