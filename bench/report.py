"""The report: per-round measurements flattened into metrics, medians across rounds, the
"added" latency over direct, the ratios between proxies, what a feature (the audit log) costs
over the same path without it, and their markdown rendering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.distribution import median_or_none

Metrics = dict[str, float | None]
# Below this share of the target rate the open loop fell behind: the path is saturated.
SATURATED = 0.95

# (metric, header, format) for the two tables; "added_*" are path minus direct, same round.
LATENCY_COLUMNS = (
    ("c1_p50_us", "c1 p50 µs", "{:.0f}"),
    ("c1_p99_us", "c1 p99 µs", "{:.0f}"),
    ("added_c1_p50_us", "added c1 p50", "{:+.0f}"),
    ("added_c1_p99_us", "added c1 p99", "{:+.0f}"),
    ("open_p50_us", "open p50 µs", "{:.0f}"),
    ("open_p99_us", "open p99 µs", "{:.0f}"),
    ("added_open_p50_us", "added open p50", "{:+.0f}"),
    ("added_open_p99_us", "added open p99", "{:+.0f}"),
    ("open_achieved_rps", "open rps", "{:.0f}"),
    ("errors", "errors", "{:.0f}"),
)
COST_COLUMNS = (
    ("open_cpu_ms_per_req_hop", "CPU ms/req/hop (open)", "{:.3f}"),
    ("open_cpu_ms_per_req_A", "CPU A", "{:.3f}"),
    ("open_cpu_ms_per_req_B", "CPU B", "{:.3f}"),
    ("c1_cpu_ms_per_req_hop", "CPU/hop (c1)", "{:.3f}"),
    ("h2_cpu_ms_per_req_hop", "CPU/hop (h2load)", "{:.3f}"),
    ("open_cpu_ms_per_req_upstream", "upstream CPU", "{:.3f}"),
    ("rss_mib_A", "RSS A MiB", "{:.1f}"),
    ("rss_mib_B", "RSS B MiB", "{:.1f}"),
    ("h2_rps", "h2load rps", "{:.0f}"),
    ("h2_p50_us", "h2load p50 µs", "{:.0f}"),
    ("h2_p99_us", "h2load p99 µs", "{:.0f}"),
)
# The ratios asked for: numerator path / denominator path, per metric. mesh/bare shows the
# unary relay that the mesh's descriptor sets allow against the bare forwarder's stream relay
# (the floor for a proxy that must treat every method as a stream).
RATIO_PAIRS = (("sidecar", "bare"), ("sidecar", "nginx"), ("bare", "nginx"), ("mesh", "bare"))
RATIO_METRICS = (
    ("open_cpu_ms_per_req_hop", "CPU ms/req/hop (open)"),
    ("h2_cpu_ms_per_req_hop", "CPU ms/req/hop (h2load)"),
    ("added_c1_p50_us", "added c1 p50"),
    ("added_c1_p99_us", "added c1 p99"),
    ("added_open_p50_us", "added open p50"),
    ("rss_mib_hop", "RSS MiB/hop"),
)
# A feature switched on vs the same path with it off: (on, off, what differs).
OVERHEAD_PAIRS = (
    ("mesh-audit", "mesh", "audit log (config from etcd, policy on in both)"),
    ("sidecar-audit", "sidecar", "audit log (static config, no policy layer)"),
)
# (key, header, format): CPU as extra % (and µs) per request per hop; latency as a difference
# in ms. Each is taken within a round (both paths ran in it), then the median across rounds.
OVERHEAD_COLUMNS = (
    ("extra_open_cpu_pct", "extra CPU/hop (open) %", "{:+.1f}"),
    ("extra_open_cpu_us", "extra CPU/hop (open) µs", "{:+.0f}"),
    ("extra_c1_cpu_pct", "extra CPU/hop (c1) %", "{:+.1f}"),
    ("extra_h2_cpu_pct", "extra CPU/hop (h2load) %", "{:+.1f}"),
    ("delta_c1_p50_ms", "Δ c1 p50 ms", "{:+.3f}"),
    ("delta_open_p50_ms", "Δ open p50 ms", "{:+.3f}"),
    ("delta_open_p99_ms", "Δ open p99 ms", "{:+.3f}"),
    ("delta_h2_rps_pct", "Δ h2load rps %", "{:+.1f}"),
)
_ADDED = (
    ("c1_p50_us", "added_c1_p50_us"),
    ("c1_p99_us", "added_c1_p99_us"),
    ("open_p50_us", "added_open_p50_us"),
    ("open_p99_us", "added_open_p99_us"),
)


def flatten(measurement: dict[str, Any]) -> Metrics:
    """One path's measurement in one round as named numbers."""
    metrics: Metrics = {}
    closed, open_ = measurement["closed"], measurement["open"]
    metrics["c1_p50_us"] = closed["load"]["latency_us"].get("p50")
    metrics["c1_p99_us"] = closed["load"]["latency_us"].get("p99")
    metrics["open_p50_us"] = open_["load"]["latency_us"].get("p50")
    metrics["open_p99_us"] = open_["load"]["latency_us"].get("p99")
    metrics["open_achieved_rps"] = open_["load"]["achieved_rps"]
    metrics["open_target_rps"] = open_["load"]["target_rps"]
    metrics["open_generator_lag_p99_us"] = open_["load"]["generator_lag_us"].get("p99")
    metrics["open_most_in_flight"] = open_["load"]["most_in_flight"]
    errors = closed["load"]["errors"] + open_["load"]["errors"]
    for phase, key in (("c1", "closed"), ("open", "open"), ("h2", "h2load")):
        if key not in measurement:
            continue
        cpu = measurement[key]["cpu_ms_per_request"]
        for role, value in cpu.items():
            metrics[f"{phase}_cpu_ms_per_req_{role}"] = value
        hops = [cpu[role] for role in ("A", "B") if role in cpu]
        if hops and all(value is not None for value in hops):
            metrics[f"{phase}_cpu_ms_per_req_hop"] = sum(hops) / len(hops)
    if "h2load" in measurement:
        h2 = measurement["h2load"]["load"]
        metrics["h2_rps"] = h2["rps"]
        metrics["h2_p50_us"] = h2["latency_us"].get("p50")
        metrics["h2_p99_us"] = h2["latency_us"].get("p99")
        errors += h2["failed"] + (h2["requests"] - h2["http_2xx"])
    metrics["errors"] = errors
    rss = measurement["rss_kib"]
    for role, kib in rss.items():
        metrics[f"rss_mib_{role}"] = kib / 1024
    if rss:
        metrics["rss_mib_hop"] = sum(rss.values()) / 1024 / len(rss)
    return metrics


def add_added(round_metrics: dict[str, Metrics]) -> None:
    """Set each path's added_* latencies: its value minus direct's, within one round."""
    direct = round_metrics.get("direct")
    if direct is None:
        return
    for metrics in round_metrics.values():
        for base, added in _ADDED:
            value, reference = metrics.get(base), direct.get(base)
            metrics[added] = None if value is None or reference is None else value - reference


def medians(rounds: Sequence[dict[str, Metrics]], paths: Sequence[str]) -> dict[str, Metrics]:
    """Per path, the median of every metric across the rounds that measured it."""
    result: dict[str, Metrics] = {}
    for path in paths:
        per_round = [r[path] for r in rounds if path in r]
        keys = sorted({key for metrics in per_round for key in metrics})
        result[path] = {
            key: _rounded(median_or_none([m.get(key) for m in per_round])) for key in keys
        }
    return result


def ratios(median: dict[str, Metrics]) -> dict[str, dict[str, float | None]]:
    """metric -> "num/den" -> ratio of medians; None when either side is missing or the
    denominator is not positive (an added latency lost in the noise)."""
    result: dict[str, dict[str, float | None]] = {}
    for metric, _ in RATIO_METRICS:
        row: dict[str, float | None] = {}
        for num, den in RATIO_PAIRS:
            top = median.get(num, {}).get(metric)
            bottom = median.get(den, {}).get(metric)
            row[f"{num}/{den}"] = (
                None if top is None or bottom is None or bottom <= 0 else round(top / bottom, 2)
            )
        result[metric] = row
    return result


def overheads(rounds: Sequence[dict[str, Metrics]]) -> dict[str, Metrics]:
    """"on/off" -> what switching the feature on adds, per OVERHEAD_COLUMNS: computed within
    each round that measured both paths, then the median across those rounds. A percentage
    is None when its base is not positive."""
    result: dict[str, Metrics] = {}
    for on, off, _ in OVERHEAD_PAIRS:
        paired = [(r[on], r[off]) for r in rounds if on in r and off in r]
        if not paired:
            continue
        per_round = [_overhead(with_, without) for with_, without in paired]
        result[f"{on}/{off}"] = {
            key: _rounded(median_or_none([o[key] for o in per_round]))
            for key, _, _ in OVERHEAD_COLUMNS
        }
    return result


def _overhead(on: Metrics, off: Metrics) -> Metrics:
    def percent(key: str) -> float | None:
        top, base = on.get(key), off.get(key)
        return None if top is None or base is None or base <= 0 else (top - base) / base * 100

    def difference(key: str, scale: float) -> float | None:
        top, base = on.get(key), off.get(key)
        return None if top is None or base is None else (top - base) * scale

    return {
        "extra_open_cpu_pct": percent("open_cpu_ms_per_req_hop"),
        "extra_open_cpu_us": difference("open_cpu_ms_per_req_hop", 1000),
        "extra_c1_cpu_pct": percent("c1_cpu_ms_per_req_hop"),
        "extra_h2_cpu_pct": percent("h2_cpu_ms_per_req_hop"),
        "delta_c1_p50_ms": difference("c1_p50_us", 1e-3),
        "delta_open_p50_ms": difference("open_p50_us", 1e-3),
        "delta_open_p99_ms": difference("open_p99_us", 1e-3),
        "delta_h2_rps_pct": percent("h2_rps"),
    }


def markdown(
    median: dict[str, Metrics],
    ratio: dict[str, dict[str, float | None]],
    failed: dict[str, str],
    overhead: dict[str, Metrics] | None = None,
) -> str:
    """The tables (latency, cost, ratios, and the audit log's overhead when both sides of a
    pair were measured) and the paths that could not be measured."""
    parts = [
        "### Latency (median across rounds)",
        _table(median, LATENCY_COLUMNS),
        "### Cost (median across rounds; CPU in ms per request, per hop = (A+B)/2)",
        _table(median, COST_COLUMNS),
        "### Ratios (of the medians above)",
        _ratio_table(ratio),
    ]
    if overhead:
        parts += [
            "### A feature on vs off (paired within each round, median across rounds)",
            _overhead_table(overhead),
        ]
    for path, metrics in median.items():
        achieved, target = metrics.get("open_achieved_rps"), metrics.get("open_target_rps")
        if achieved is not None and target and achieved < SATURATED * target:
            parts.append(
                f"**{path}: open loop saturated** ({achieved:.0f} of {target:.0f} rps): "
                "its open-loop latencies measure queueing; lower --rate to compare."
            )
    for path, error in failed.items():
        parts.append(f"**{path}: not measured** — {error.splitlines()[0]}")
    return "\n\n".join(parts) + "\n"


def _table(median: dict[str, Metrics], columns: Sequence[tuple[str, str, str]]) -> str:
    lines = [
        "| path | " + " | ".join(header for _, header, _ in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for path, metrics in median.items():
        cells = [_cell(metrics.get(key), fmt) for key, _, fmt in columns]
        lines.append(f"| {path} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratio_table(ratio: dict[str, dict[str, float | None]]) -> str:
    pairs = [f"{num}/{den}" for num, den in RATIO_PAIRS]
    lines = ["| metric | " + " | ".join(pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
    for metric, header in RATIO_METRICS:
        row = ratio.get(metric, {})
        lines.append(
            f"| {header} | " + " | ".join(_cell(row.get(p), "{:.2f}") for p in pairs) + " |"
        )
    return "\n".join(lines)


def _overhead_table(overhead: dict[str, Metrics]) -> str:
    lines = [
        "| on vs off | what differs | " + " | ".join(h for _, h, _ in OVERHEAD_COLUMNS) + " |",
        "|---" * (len(OVERHEAD_COLUMNS) + 2) + "|",
    ]
    for on, off, what in OVERHEAD_PAIRS:
        row = overhead.get(f"{on}/{off}")
        if row is None:
            continue
        cells = [_cell(row.get(key), fmt) for key, _, fmt in OVERHEAD_COLUMNS]
        lines.append(f"| {on} vs {off} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)
