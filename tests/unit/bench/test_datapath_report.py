"""The data-path benchmark's report and mesh resources: ratios between paths, the audit log's
paired overhead, the markdown, and the YAML the mesh paths apply."""

from __future__ import annotations

import pytest
import yaml
from google.protobuf import descriptor_pb2

from bench.meshes import CONSUMER, PROVIDER, mesh_documents
from bench.report import OVERHEAD_PAIRS, markdown, overheads, ratios
from bench.upstream import METHOD, SERVICE, descriptor_set
from mesh.resources import from_dict
from mesh.v1 import access_policy_pb2, route_pb2, service_pb2


def _metrics(cpu_ms: float, c1_p50_us: float, open_p50_us: float) -> dict[str, float | None]:
    return {
        "open_cpu_ms_per_req_hop": cpu_ms,
        "c1_cpu_ms_per_req_hop": cpu_ms,
        "h2_cpu_ms_per_req_hop": None,
        "c1_p50_us": c1_p50_us,
        "open_p50_us": open_p50_us,
        "open_p99_us": open_p50_us * 2,
        "h2_rps": 1000.0,
    }


def test_mesh_over_bare_is_among_the_ratios() -> None:
    """mesh/bare is reported next to sidecar/bare, sidecar/nginx and bare/nginx."""
    median = {
        "bare": {"open_cpu_ms_per_req_hop": 0.5},
        "mesh": {"open_cpu_ms_per_req_hop": 0.4},
        "sidecar": {"open_cpu_ms_per_req_hop": 1.0},
        "nginx": {"open_cpu_ms_per_req_hop": 0.1},
    }
    row = ratios(median)["open_cpu_ms_per_req_hop"]
    assert row == {"sidecar/bare": 2.0, "sidecar/nginx": 10.0, "bare/nginx": 5.0, "mesh/bare": 0.8}


def test_overhead_is_paired_within_rounds_then_the_median() -> None:
    """Extra CPU % and Δ p50 ms are taken per round, then the median across rounds."""
    rounds = [
        {"mesh": _metrics(1.0, 1000, 2000), "mesh-audit": _metrics(1.5, 1500, 2100)},
        {"mesh": _metrics(2.0, 3000, 2000), "mesh-audit": _metrics(2.2, 3300, 2300)},
        {"mesh": _metrics(1.0, 1000, 2000), "mesh-audit": _metrics(1.3, 1200, 2200)},
    ]
    row = overheads(rounds)["mesh-audit/mesh"]
    assert row["extra_open_cpu_pct"] == pytest.approx(30.0)
    assert row["extra_open_cpu_us"] == pytest.approx(300.0)
    assert row["delta_c1_p50_ms"] == pytest.approx(0.3)
    assert row["delta_open_p50_ms"] == pytest.approx(0.2)
    assert row["extra_h2_cpu_pct"] is None
    assert "sidecar-audit/sidecar" not in overheads(rounds)


def test_overhead_percentage_of_a_zero_base_is_absent() -> None:
    """A CPU base of 0 (below one clock tick) gives no percentage rather than a division error."""
    rounds = [{"sidecar": _metrics(0.0, 1000, 2000), "sidecar-audit": _metrics(0.5, 1000, 2000)}]
    row = overheads(rounds)["sidecar-audit/sidecar"]
    assert row["extra_open_cpu_pct"] is None and row["extra_open_cpu_us"] == pytest.approx(500.0)


def test_markdown_shows_the_overhead_table_only_when_measured() -> None:
    """The on-vs-off table names each measured pair; without pairs it is left out."""
    rounds = [{"sidecar": _metrics(1.0, 1000, 2000), "sidecar-audit": _metrics(1.1, 1100, 2000)}]
    median = {"sidecar": {}, "sidecar-audit": {}}
    with_pairs = markdown(median, ratios(median), {}, overheads(rounds))
    assert "| sidecar-audit vs sidecar |" in with_pairs and "+10.0" in with_pairs
    assert "on vs off" not in markdown(median, ratios(median), {}, {})
    assert {on for on, _, _ in OVERHEAD_PAIRS} == {"mesh-audit", "sidecar-audit"}


def test_bench_descriptor_set_declares_the_method_unary() -> None:
    """The Service's descriptors tell the sidecars that the measured method is unary."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set())
    (method,) = [
        m for f in files.file for s in f.service if f"{f.package}.{s.name}" == SERVICE for m in s.method
    ]
    assert f"/{SERVICE}/{method.name}" == METHOD
    assert not method.client_streaming and not method.server_streaming


def test_mesh_documents_parse_strictly_and_admit_only_the_bench_call() -> None:
    """Every document parses with unknown fields refused; the policy names exactly the
    consumer and the one method, and the Service points at the provider's inbound."""
    docs = [from_dict(doc) for doc in yaml.safe_load_all(mesh_documents("bench.test", "127.0.0.1:1"))]
    (policy,) = [d for d in docs if isinstance(d, access_policy_pb2.AccessPolicy)]
    (service,) = [d for d in docs if isinstance(d, service_pb2.Service)]
    (route,) = [d for d in docs if isinstance(d, route_pb2.Route)]
    (rule,) = policy.spec.rules
    assert list(rule.methods) == [METHOD] and policy.spec.system == PROVIDER
    assert list(rule.callers.spiffe_ids) == [f"spiffe://bench.test/org/131016/sys/{CONSUMER}"]
    assert service.spec.endpoints[0].address == "127.0.0.1:1" and route.spec.consumer == CONSUMER
