"""h2load as a closed-loop throughput load (optional): many concurrent gRPC unary calls
over h2c, with per-request latencies from its log file.

h2load sees HTTP statuses only: a gRPC error still arrives as HTTP 200 with a grpc-status
trailer, so each path is checked with a real gRPC call before h2load is pointed at it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.distribution import latency_summary
from bench.upstream import METHOD

H2LOAD = "h2load"


@dataclass(frozen=True, slots=True)
class H2loadPlan:
    """How much load: total requests, connections, and concurrent streams per connection."""

    requests: int
    clients: int
    streams: int
    timeout_seconds: float = 120.0


def h2load_version() -> str | None:
    """ "nghttp2/1.52.0", or None without h2load."""
    if shutil.which(H2LOAD) is None:
        return None
    done = subprocess.run(
        [H2LOAD, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    found = re.search(r"nghttp2/\S+", done.stdout)
    return found.group(0) if found else done.stdout.strip() or None


def write_grpc_body(path: Path, payload_bytes: int) -> Path:
    """One length-prefixed gRPC message (uncompressed flag, 4-byte big-endian length, bytes)."""
    path.write_bytes(b"\x00" + payload_bytes.to_bytes(4, "big") + b"\xa5" * payload_bytes)
    return path


def run_h2load(target: str, plan: H2loadPlan, body: Path, log_file: Path) -> dict[str, Any]:
    """Run h2load against `target` (HOST:PORT, h2c) and summarise what it reports.

    `log_file` must not exist: h2load appends to it, and old lines would pollute the
    percentiles.
    """
    if log_file.exists():
        raise FileExistsError(f"{log_file} exists; h2load would append to it")
    argv = [
        H2LOAD,
        f"--requests={plan.requests}",
        f"--clients={plan.clients}",
        f"--max-concurrent-streams={plan.streams}",
        "--threads=1",
        f"--data={body}",
        "--header=te: trailers",
        "--header=content-type: application/grpc",
        f"--log-file={log_file}",
        f"http://{target}{METHOD}",
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=plan.timeout_seconds, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"h2load exited {done.returncode}: {done.stderr.strip() or done.stdout[-500:]}"
        )
    return _summary(done.stdout, log_file)


def _summary(stdout: str, log_file: Path) -> dict[str, Any]:
    rate = re.search(r"finished in ([\d.]+)(\w+), ([\d.]+) req/s", stdout)
    counts = re.search(
        r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
        r"(\d+) failed, (\d+) errored",
        stdout,
    )
    status = re.search(r"status codes: (\d+) 2xx", stdout)
    if not (rate and counts and status):
        raise RuntimeError(f"cannot parse h2load output:\n{stdout[-1000:]}")
    latencies = []
    for line in log_file.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] == "200":
            latencies.append(int(fields[2]) / 1e6)
    return {
        "requests": int(counts.group(1)),
        "done": int(counts.group(2)),
        "succeeded": int(counts.group(3)),
        "failed": int(counts.group(4)) + int(counts.group(5)),
        "http_2xx": int(status.group(1)),
        "rps": float(rate.group(3)),
        "latency_us": latency_summary(latencies),
    }
