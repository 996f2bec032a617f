"""The propagation benchmark's bookkeeping: which change lands where, when a version counts as
in effect everywhere, which anchor a latency is measured from, and the commit-log parsing."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.propagation.commits import ClockOffset, commit_times
from bench.propagation.documents import MAX_BATCH, batches, change, mesh_documents, timeout_for
from bench.propagation.fleet import CLIENT, Recorder
from bench.propagation.timeline import Arrivals, Change, change_row, earliest, summary


def test_every_client_is_changed_within_n_changes() -> None:
    """Consecutive changes walk the whole fleet, so every worker process gets its share."""
    for size in (1, 7, 10, 100, 1000):
        assert {change(seq, size).index for seq in range(1, size + 1)} == set(range(size))


def test_each_change_sets_a_new_route_timeout() -> None:
    """An unchanged apply writes nothing, so no two changes may set the same timeout."""
    timeouts = [timeout_for(seq) for seq in range(1, 2000)]
    assert len(set(timeouts)) == len(timeouts) and max(timeouts) <= 300


def test_a_timeout_beyond_the_route_limit_is_refused() -> None:
    """RouteSpec.timeout is at most 300s; the benchmark never asks for more."""
    with pytest.raises(ValueError):
        timeout_for(300_000)


def test_batches_hold_at_most_the_limit_and_every_document() -> None:
    """Populating N clients takes applies of at most MAX_BATCH documents, none lost."""
    docs = mesh_documents("bench.test", 1000)
    texts = batches(docs)
    counts = [text.count("apiVersion:") for text in texts]
    assert max(counts) <= MAX_BATCH and sum(counts) == len(docs) == 2003


@pytest.mark.parametrize("seen,expected", [
    ({0: [(5, 1.0)], 1: [(5, 2.0)]}, [1.0, 2.0]),
    ({0: [(4, 0.5), (6, 1.5)], 1: [(5, 2.0)]}, [1.5, 2.0]),  # a later version counts too
    ({0: [(5, 1.0)], 1: [(4, 2.0)]}, None),  # one index never got there
    ({0: [(5, 1.0)]}, None),  # one index never reported at all
])
def test_a_version_is_in_effect_when_every_index_has_it_or_a_later_one(
    seen: dict[int, list[tuple[int, float]]], expected: list[float] | None
) -> None:
    """Each index's first arrival at the version or later; None unless all have it."""
    assert Arrivals(seen, 2).reached(5) == expected


@pytest.mark.parametrize("change_,anchor", [
    (Change(5, sent=0.0, returned=0.2, committed=0.1, committed_by="watcher", logged=0.15), "watcher"),
    (Change(5, sent=0.0, returned=0.2, logged=0.15), "cp_log"),
    (Change(5, sent=0.0, returned=0.2), "returned"),
])
def test_latency_is_measured_from_the_best_known_commit_time(change_: Change, anchor: str) -> None:
    """The commit time if known, else the control plane's log time, else the write's return."""
    row = change_row(change_, Arrivals({0: [(5, 1.0)]}, 1))
    assert row["anchor"] == anchor
    assert row["all_ms"] == pytest.approx((1.0 - change_.anchor) * 1000)
    assert row["from_sent_ms"] == pytest.approx(1000.0)


@pytest.mark.parametrize("observed,expected", [
    ({"reference": {5: 0.30}, "watcher": {5: 0.25}, "cp_log": {5: 0.28}}, (0.25, "watcher")),
    ({"reference": {5: 0.30}, "cp_log": {5: 0.28}}, (0.28, "cp_log")),
    ({"reference": {6: 0.10}}, (0.40, "returned")),  # nothing seen of this version
])
def test_the_commit_time_is_the_first_sign_of_it(
    observed: dict[str, dict[int, float]], expected: tuple[float, str]
) -> None:
    """Every observation comes after the commit, so the earliest one bounds it best."""
    anchored = earliest(Change(5, sent=0.0, returned=0.40), observed)
    assert (anchored.committed, anchored.committed_by) == expected
    assert anchored.logged == observed.get("cp_log", {}).get(5)


def test_the_harness_own_txn_return_counts_as_a_sign() -> None:
    """A burst written by the harness keeps its txn return unless a watcher saw it first."""
    written = Change(5, sent=0.0, returned=0.02, committed=0.02, committed_by="txn_return")
    assert earliest(written, {"watcher": {5: 0.03}}).committed_by == "txn_return"
    assert earliest(written, {"watcher": {5: 0.01}}).committed_by == "watcher"


def test_a_change_not_everywhere_is_reported_unconverged_and_left_out_of_percentiles() -> None:
    """Unconverged changes are counted, never averaged in."""
    arrivals = Arrivals({0: [(5, 1.0)], 1: [(5, 1.5)]}, 2)
    rows = [change_row(Change(5, 0.0, 0.1, 0.1), arrivals), change_row(Change(6, 0.0, 0.1, 0.1), arrivals)]
    result = summary(rows)
    assert (result["changes"], result["converged"]) == (2, 1)
    assert result["all_ms"]["p99"] == pytest.approx(1400.0)


def test_commit_times_come_from_config_written_lines_only() -> None:
    """Other events and lines that are not JSON are skipped; the wall time moves by the offset."""
    lines = [
        json.dumps({"event": "config_written", "version": 7, "timestamp": "2026-01-01T00:00:01.500000Z"}),
        json.dumps({"event": "request_refused", "version": 8, "timestamp": "2026-01-01T00:00:02Z"}),
        "not json, config_written",
    ]
    found = commit_times("\n".join(lines), ClockOffset(offset=1767225600.0, drift=0.0))
    assert found == {7: pytest.approx(1.5)}


async def test_waiting_for_all_ends_when_the_last_index_arrives() -> None:
    """wait_all returns True once every index is at the version, whatever order they come in."""
    recorder = Recorder(2)
    recorder.record(CLIENT, 0, 3, 1.0)
    waiting = asyncio.create_task(recorder.wait_all(CLIENT, 3, timeout=5))
    await asyncio.sleep(0)
    assert not waiting.done()
    recorder.record(CLIENT, 1, 4, 2.0)
    assert await waiting


async def test_waiting_for_all_gives_up_after_its_timeout() -> None:
    """A version some index never reaches: False after the bound, not a hang."""
    recorder = Recorder(2)
    recorder.record(CLIENT, 0, 3, 1.0)
    assert not await recorder.wait_all(CLIENT, 3, timeout=0.05)


async def test_waiting_for_a_wave_ignores_indexes_outside_it() -> None:
    """A wave of clients is done when its own indexes are there, whatever the others do."""
    recorder = Recorder(4)
    recorder.record(CLIENT, 2, 3, 1.0)
    recorder.record(CLIENT, 3, 3, 1.0)
    assert await recorder.wait_all(CLIENT, 3, timeout=0.05, indexes=[2, 3])
    assert not await recorder.wait_all(CLIENT, 3, timeout=0.05, indexes=[1, 2])
