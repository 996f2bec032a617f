"""Sidecar settings: strict parsing and refusal of unsafe listeners."""

from __future__ import annotations

import pytest

from sidecar.errors import ConfigError
from mesh.addresses import is_local_address
from sidecar.settings import parse_config, to_settings

BASE = """
identity: {spiffeId: "spiffe://t.test/org/131016/sys/a", certFile: a.crt, keyFile: a.key, bundleFile: b.pem}
admin: {address: "127.0.0.1:9000"}
"""


@pytest.mark.parametrize("address,local", [
    ("127.0.0.1:1", True), ("127.8.9.10:1", True), ("[::1]:1", True), ("localhost:1", True),
    ("unix:/tmp/x.sock", True), ("0.0.0.0:1", False), ("[::]:1", False), ("10.0.0.1:1", False),
    ("192.168.1.2:1", False), ("example.com:1", False), ("unix:", False), ("127.0.0.1", False),
    (":80", False),
])
def test_only_loopback_or_unix_counts_as_local(address: str, local: bool) -> None:
    """Plaintext may listen only on loopback or a Unix socket."""
    assert is_local_address(address) is local


@pytest.mark.parametrize("address", ["0.0.0.0:15001", "10.1.2.3:15001", "[::]:15001"])
def test_plaintext_outbound_off_loopback_refuses_to_start(address: str) -> None:
    """An outbound listener on a non-loopback address is a config error naming the field."""
    config = parse_config(BASE + f'outbound: {{address: "{address}"}}\n')
    with pytest.raises(ConfigError) as err:
        to_settings(config)
    assert any(p.startswith("outbound.address:") for p in err.value.problems)


def test_unknown_field_is_an_error() -> None:
    """A misspelt field is refused, never ignored."""
    with pytest.raises(ConfigError):
        parse_config(BASE + 'outbund: {address: "127.0.0.1:1"}\n')


def test_every_problem_is_reported_with_its_path() -> None:
    """All problems at once, each with its field path."""
    text = """
identity: {spiffeId: "spiffe://t.test/org/131016/sys/a"}
admin: {address: "0.0.0.0:9"}
inbound: {address: "nope", upstream: "10.0.0.1:5"}
routes: [{service: "a.B", endpoint: "x", identity: "y"}, {service: "a.B", endpoint: "127.0.0.1:1", identity: "spiffe://t.test/x"}]
"""
    with pytest.raises(ConfigError) as err:
        to_settings(parse_config(text))
    paths = {p.split(":")[0] for p in err.value.problems}
    assert {"identity.certFile", "identity.keyFile", "identity.bundleFile", "admin.address",
            "inbound.address", "inbound.upstream", "routes[0].endpoint", "routes[0].identity",
            "routes[1].service"} <= paths


def test_defaults_follow_grpc() -> None:
    """Max message size defaults to gRPC's 4 MiB."""
    settings = to_settings(parse_config(BASE + 'outbound: {address: "127.0.0.1:1"}\n'))
    assert settings.max_message_bytes == 4 * 1024 * 1024
    assert settings.drain_seconds == 5.0


def test_audit_batching_defaults_and_overrides() -> None:
    """Records are written after a 100 ms linger and fsynced within 500 ms unless the operator
    says otherwise; fsyncEveryBatch means no interval at all."""
    base = BASE + 'outbound: {address: "127.0.0.1:1"}\n'
    defaults = to_settings(parse_config(base + "audit: {directory: audit}\n"))
    assert (defaults.audit_batch_linger_seconds, defaults.audit_sync_interval_seconds) == (0.1, 0.5)
    tuned = to_settings(parse_config(base + 'audit: {directory: audit, batchLinger: "0.02s", syncInterval: "2s"}\n'))
    assert (tuned.audit_batch_linger_seconds, tuned.audit_sync_interval_seconds) == (0.02, 2.0)
    strict = to_settings(parse_config(base + "audit: {directory: audit, fsyncEveryBatch: true}\n"))
    assert strict.audit_sync_interval_seconds == 0.0


@pytest.mark.parametrize("audit,problem", [
    ('{directory: audit, batchLinger: "2s"}', "audit.batchLinger: at most 1s"),
    ('{directory: audit, syncInterval: "11s"}', "audit.syncInterval: at most 10s"),
    ('{directory: audit, syncInterval: "1s", fsyncEveryBatch: true}', "audit.syncInterval: not with fsyncEveryBatch"),
])
def test_audit_batching_out_of_bounds_is_refused(audit: str, problem: str) -> None:
    """A durability window longer than the bounds, or two that contradict, is a config error."""
    with pytest.raises(ConfigError) as err:
        to_settings(parse_config(BASE + 'outbound: {address: "127.0.0.1:1"}\n' + f"audit: {audit}\n"))
    assert problem in err.value.problems
