"""The apply-cost benchmark measures what it says: on its own etcd, the mesh of 3 + 2N objects,
then one timed sample per Route-changing apply."""

from __future__ import annotations

from pathlib import Path

from bench.apply_cost import markdown, measure_size


async def test_a_small_run_reports_every_apply(tmp_path: Path) -> None:
    """N = 3 with 4 applies: 9 objects, 4 CPU and wall samples, medians in the table."""
    row = await measure_size(3, 4, tmp_path, profile=False)
    assert row["objects"] == 9 and row["applies"] == 4
    assert len(row["cpu_ms"]) == len(row["wall_ms"]) == 4 and min(row["wall_ms"]) > 0
    assert row["cpu_ms_p50"] <= row["cpu_ms_p90"]
    assert f"| 3 | 9 | {row['cpu_ms_p50']} |" in markdown([row])
