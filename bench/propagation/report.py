"""The propagation benchmark's markdown: sequential changes against the targets, the bursts,
and the control plane's memory and CPU, one row per fleet size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RSS_TARGET_MIB = 150


def target_ms(size: int) -> float:
    """The issue's targets: p99 ≤ 100 ms up to N = 100, ≤ 1 s at N = 1000."""
    return 100.0 if size <= 100 else 1000.0


def markdown(sizes: Sequence[dict[str, Any]]) -> str:
    parts = [
        "### Sequential changes (ms; each change applied once the previous one is everywhere)",
        "",
        "| N | changes | Apply RPC p50 / p99 | raw watch, all N p50 / p99 | config clients, all N p50 / p99 "
        "| same, from Apply sent p50 / p99 | median / first client p50 "
        "| target p99 | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in sizes:
        phases = result.get("phases", {})
        watch = phases.get("watch/raw_watch", {}).get("summary", {})
        clients = phases.get("clients/propagation", {}).get("summary", {})
        p99 = clients.get("all_ms", {}).get("p99")
        target = target_ms(result["size"])
        met = "–" if p99 is None else ("yes" if p99 <= target and clients["converged"] == clients["changes"] else "**no**")
        parts.append(
            f"| {result['size']} | {clients.get('converged', 0)}/{clients.get('changes', 0)} "
            f"| {_pair(clients, 'write_ms')} | {_pair(watch, 'all_ms')} | {_pair(clients, 'all_ms')} "
            f"| {_pair(clients, 'from_sent_ms')} | {_one(clients, 'median_ms')} / {_one(clients, 'first_ms')} "
            f"| ≤ {target:.0f} | {met} |")
    parts += ["", "### Bursts (changes written back to back, then the last version must reach all N)", "",
              "| N | written through | changes | write window ms | last version everywhere "
              "| last commit → all N ms | first write → all N ms |",
              "|---|---|---|---|---|---|---|"]
    for result in sizes:
        for name, label in (("burst_api", "API (Apply, one after another)"),
                            ("burst_etcd", "etcd directly, pre-signed")):
            burst = result.get(name)
            if burst is None:
                continue
            if "skipped" in burst:
                parts.append(f"| {result['size']} | {label} | – | – | skipped: {burst['skipped']} | – | – |")
                continue
            everywhere = "yes" if burst["all_at_last_version"] else (
                f"**no** ({burst['clients_at_last_version']}/{result['size']})")
            parts.append(
                f"| {result['size']} | {label} | {burst['changes']} | {burst['window_ms']} | {everywhere} "
                f"| {burst.get('last_version_all_ms', '–')} | {burst.get('first_write_to_all_ms', '–')} |")
    parts += ["", "### Control plane and clients", "",
              f"| N | CP RSS populated MiB | CP RSS end MiB | CP peak RSS MiB | ≤ {RSS_TARGET_MIB} MiB "
              "| CP CPU ms / apply | CP logs the commit after, ms p50 | client CPU ms / change "
              "| clients start s (waves) "
              "| final check |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for result in sizes:
        memory = result.get("cp_memory_kib", {})
        populated = memory.get("populated", {}).get("VmRSS")
        end = memory.get("end", memory.get("before_stop", {})).get("VmRSS")
        peak = max((m.get("VmHWM", 0) for m in memory.values()), default=0) or None
        ok = "–" if peak is None else ("yes" if peak / 1024 <= RSS_TARGET_MIB else "**no**")
        cpu = result.get("cpu_ms_per_change", {})
        check = result.get("final_check", {})
        lag = result.get("phases", {}).get("watch/raw_watch", {}).get("summary", {})
        parts.append(
            f"| {result['size']} | {_mib(populated)} | {_mib(end)} | {_mib(peak)} | {ok} "
            f"| {cpu.get('control_plane', '–')} | {_one(lag, 'cp_log_lag_ms')} | {cpu.get('workers_per_client', '–')} "
            f"| {_start(result.get('clients_start'))} | {_check(check)} |")
    notes = [f"- N={r['size']}: {phase} stopped: {why}" for r in sizes for phase, why in r.get("stopped", {}).items()]
    notes += [f"- N={r['size']}: failed: {r['error']}" for r in sizes if "error" in r]
    notes += [f"- N={r['size']}: worker error: {e}" for r in sizes for e in r.get("worker_errors", [])[:3]]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def _pair(summary: dict[str, Any], field: str) -> str:
    found = summary.get(field)
    return "–" if not found else f"{found['p50']:.1f} / {found['p99']:.1f}"


def _one(summary: dict[str, Any], field: str) -> str:
    found = summary.get(field)
    return "–" if not found else f"{found['p50']:.1f}"


def _mib(kib: int | None) -> str:
    return "–" if kib is None else f"{kib / 1024:.1f}"


def _start(start: dict[str, Any] | None) -> str:
    return "–" if not start else f"{start['seconds']} ({start['wave']} per wave)"


def _check(check: dict[str, Any]) -> str:
    if not check:
        return "–"
    if check["ok"]:
        return f"ok (v{check['newest_version']})"
    return f"**behind {len(check['behind'])}, wrong route {len(check['wrong_route_timeout'])}**"
