"""Compiling signed config: a good config becomes this sidecar's routes; anything unsigned,
altered, moved, replayed, oversized, added or deleted behind the control plane's back, or
with a broken reference, rejects the whole snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certs.ca import create_intermediate, create_root, issue_workload
from certs.spiffe_id import workload_id
from mesh.commit import Change
from mesh.keys import CONFIG_PREFIX, HEAD_KEY, MAX_VALUE_BYTES, SIGNER_PREFIX, resource_key
from mesh.signing import Signer, head_digest
from mesh.v1 import organization_pb2, signed_pb2, system_pb2
from sidecar.compile import DEFAULT_ROUTE_TIMEOUT, SnapshotRejected, compile_snapshot
from sidecar.snapshot import Upstream
from tests.support.config_writer import SignerIdentity
from tests.support.resources import (
    CONSUMER,
    CONSUMER_ID,
    ENDPOINTS,
    ORG,
    PROVIDER,
    PROVIDER_ID,
    SERVICE,
    TRUST_DOMAIN,
    delete,
    denylist,
    key_of,
    organization,
    put,
    route,
    service,
    system,
    trust_bundle,
)
from tests.unit.sidecar.conftest import Mesh

ROUTE_KEY = key_of(route())
SYSTEM_KEY = key_of(system(CONSUMER))
Mutation = Callable[[dict[str, bytes]], None]


def _system_claiming(name: str, spiffe_id: str) -> system_pb2.System:
    claimed = system(name)
    claimed.spec.spiffe_id = spiffe_id
    return claimed


def _edit_payload(values: dict[str, bytes], key: str) -> None:
    value = signed_pb2.SignedValue.FromString(values[key])
    value.payload = value.payload[:-1] + bytes([value.payload[-1] ^ 1])  # one bit flipped
    values[key] = value.SerializeToString()


async def test_good_config_compiles_to_this_sidecars_routes(mesh: Mesh) -> None:
    """The consumer's Route becomes an upstream: first endpoint, provider identity, timeout."""
    values, revision = await mesh.values()
    snapshot = mesh.compile(values, revision=revision)
    assert dict(snapshot.routes) == {SERVICE: Upstream(ENDPOINTS[0], PROVIDER_ID, 5.0)}
    others = [(k, v) for k, v in values.items() if k != HEAD_KEY]
    assert snapshot.config_hash == head_digest(others).hex()
    assert (snapshot.version, snapshot.revision) == (1, revision)
    assert snapshot.route(SERVICE) is not None and snapshot.route("other.Svc") is None


async def test_only_the_own_systems_routes_are_kept(mesh: Mesh) -> None:
    """Another system's Route is checked but is not in this sidecar's table."""
    await mesh.writer.apply([put(system("clinic")),
                             put(route("clinic-echo", consumer="clinic", timeout_s=None))])
    values, _ = await mesh.values()
    assert set(mesh.compile(values).routes) == {SERVICE}
    clinic = mesh.compile(values, own=workload_id(TRUST_DOMAIN, ORG, "clinic"))
    assert clinic.routes[SERVICE].timeout == DEFAULT_ROUTE_TIMEOUT
    assert mesh.compile(values, own=PROVIDER_ID).routes == {}


async def test_denylist_and_trust_bundle_reach_the_snapshot(mesh: Mesh) -> None:
    """DenyList identities become `denied`; TrustBundle roots become `trust_roots_pem`."""
    await mesh.writer.apply([denylist(CONSUMER_ID), trust_bundle(mesh.root.cert_pem())])
    snapshot = mesh.compile((await mesh.values())[0])
    assert snapshot.denied == frozenset({CONSUMER_ID})
    assert snapshot.trust_roots_pem == (mesh.root.cert_pem(),)
    assert snapshot.version == 2


async def test_unknown_resource_kinds_are_verified_but_ignored(mesh: Mesh) -> None:
    """A newer control plane's kind does not stop an older sidecar, but must still verify."""
    key = resource_key("FutureKind", "", "person")
    await mesh.writer.apply([Change(key, "FutureKind", b"\x0a\x01x")])
    values, _ = await mesh.values()
    assert SERVICE in mesh.compile(values).routes
    unsigned = mesh.reseal({**values, key: b"\x0a\x01x"})
    with pytest.raises(SnapshotRejected, match="unsigned"):
        mesh.compile(unsigned)


@pytest.mark.parametrize("mutate,reason", [
    (lambda v: v.__setitem__(ROUTE_KEY, route().SerializeToString()), "does not match its head"),
    (lambda v: _edit_payload(v, ROUTE_KEY), "does not match its head"),
    (lambda v: v.__setitem__(SYSTEM_KEY, v[ROUTE_KEY]), "does not match its head"),
    (lambda v: v.pop(ROUTE_KEY), "does not match its head"),
    (lambda v: v.pop(HEAD_KEY), "no config head"),
    (lambda v: v.__setitem__(CONFIG_PREFIX + "res/Route/131016/x", v[ROUTE_KEY]),
     "does not match its head"),
    (lambda v: _edit_payload(v, HEAD_KEY), "bad signature"),
    (lambda v: v.__setitem__("/elsewhere/k", b""), "outside the config prefix"),
], ids=["unsigned", "tampered", "moved", "deleted", "head-deleted", "added", "head-tampered",
        "outside-prefix"])
async def test_a_change_behind_the_control_planes_back_rejects_everything(
    mesh: Mesh, mutate: Mutation, reason: str
) -> None:
    """Any key edited, added or removed without a new signed head fails the whole snapshot."""
    values, _ = await mesh.values()
    mutate(values)
    with pytest.raises(SnapshotRejected, match=reason):
        mesh.compile(values)


@pytest.mark.parametrize("mutate,reason", [
    (lambda v: v.__setitem__(ROUTE_KEY, route().SerializeToString()), "unsigned"),
    (lambda v: v.__setitem__(ROUTE_KEY, b""), "unsigned"),
    (lambda v: _edit_payload(v, ROUTE_KEY), "bad signature"),
    (lambda v: v.__setitem__(SYSTEM_KEY, v[ROUTE_KEY]), "signed for another key"),
    (lambda v: v.__setitem__(ROUTE_KEY, b"\x00" * (MAX_VALUE_BYTES + 1)), "oversized"),
], ids=["unsigned", "empty", "tampered", "moved", "oversized"])
async def test_each_value_must_verify_even_under_a_matching_head(
    mesh: Mesh, mutate: Mutation, reason: str
) -> None:
    """With a head re-signed over the bad value, the value's own check still refuses it."""
    values, _ = await mesh.values()
    mutate(values)
    with pytest.raises(SnapshotRejected, match=reason):
        mesh.compile(mesh.reseal(values))


async def test_an_oversized_signed_value_is_refused(mesh: Mesh) -> None:
    """A value over MAX_VALUE_BYTES is refused even when the control plane signed it."""
    big = organization()
    big.spec.display_name = "x" * MAX_VALUE_BYTES
    await mesh.writer.apply([put(big)])
    with pytest.raises(SnapshotRejected, match="oversized"):
        mesh.compile((await mesh.values())[0])


async def test_a_replayed_old_value_is_refused(mesh: Mesh) -> None:
    """An older stored value copied back over its key fails the head; with a re-signed head
    it still fails against the version already applied for that key."""
    old_route = (await mesh.values())[0][ROUTE_KEY]
    await mesh.writer.apply([put(route(timeout_s=9.0))])
    values, _ = await mesh.values()
    applied = mesh.compile(values)
    values[ROUTE_KEY] = old_route
    with pytest.raises(SnapshotRejected, match="does not match its head"):
        mesh.compile(values, applied=applied)
    with pytest.raises(SnapshotRejected, match="replayed value"):
        mesh.compile(mesh.reseal(values), applied=applied)


async def test_an_older_head_is_a_replay(mesh: Mesh) -> None:
    """The whole config of an older version, intact and signed, is still refused once a
    newer one is applied: the applied version never decreases."""
    old_values, _ = await mesh.values()
    await mesh.writer.apply([put(route(timeout_s=9.0))])
    applied = mesh.compile((await mesh.values())[0])
    assert mesh.compile(old_values).version == 1  # valid on its own
    with pytest.raises(SnapshotRejected, match="replayed config head"):
        mesh.compile(old_values, applied=applied)
    assert mesh.compile((await mesh.values())[0], applied=applied).version == 2


async def test_a_value_newer_than_its_head_is_refused(mesh: Mesh) -> None:
    """A value signed for a future version cannot ride along under an older head."""
    values, _ = await mesh.values()
    values[ROUTE_KEY] = mesh.identity.signer.sign(ROUTE_KEY, 7, "Route", route().SerializeToString())
    with pytest.raises(SnapshotRejected, match="newer than the head"):
        mesh.compile(mesh.reseal(values))


async def test_a_signer_outside_the_trust_bundle_is_not_trusted(mesh: Mesh) -> None:
    """Values signed by a config-signer certificate from another CA are refused."""
    values, _ = await mesh.values()
    other_root = create_root("Other Root")
    with pytest.raises(SnapshotRejected, match="unknown signing key"):
        compile_snapshot(values, [other_root.cert], TRUST_DOMAIN, CONSUMER_ID, 1)


async def test_a_signer_without_the_signer_identity_is_not_trusted(mesh: Mesh) -> None:
    """A mesh workload certificate cannot sign config: only the config-signer identity can."""
    workload = issue_workload(mesh.intermediate, CONSUMER_ID)
    assert workload.key is not None
    rogue = SignerIdentity(Signer(workload.key, workload.cert), workload.chain_pem())
    values, _ = await mesh.values()
    values[SIGNER_PREFIX + rogue.signer.key_id] = rogue.chain_pem
    values[ROUTE_KEY] = rogue.signer.sign(ROUTE_KEY, 1, "Route", route().SerializeToString())
    with pytest.raises(SnapshotRejected, match="unknown signing key"):
        mesh.compile(mesh.reseal(values))


async def test_a_trust_bundle_root_vouches_for_signers_once_applied(mesh: Mesh) -> None:
    """A signer under a new root is trusted only after a TrustBundle naming that root has
    been applied (signed by a signer the local bundle already trusts)."""
    new_root = create_root("New Root")
    new_signer = SignerIdentity.issue(create_intermediate(new_root, "New Intermediate"), TRUST_DOMAIN)
    await mesh.writer.apply([trust_bundle(mesh.root.cert_pem(), new_root.cert_pem())])
    applied = mesh.compile((await mesh.values())[0])
    mesh.writer.rotate(new_signer)
    await mesh.writer.apply([put(route(timeout_s=9.0))])
    values, _ = await mesh.values()
    with pytest.raises(SnapshotRejected, match="unknown signing key"):
        mesh.compile(values)
    roots = [mesh.root.cert, new_root.cert]
    snapshot = compile_snapshot(values, roots, TRUST_DOMAIN, CONSUMER_ID, 2, applied=applied)
    assert snapshot.routes[SERVICE].timeout == 9.0


@pytest.mark.parametrize("changes,reason", [
    ([put(route(consumer="nobody"))], "consumer system 'nobody' does not exist"),
    ([put(route(grpc_service="test.Missing"))], "provided by 0 services"),
    ([put(service("second-api"))], "provided by 2 services"),
    ([put(service("orphan-api", system_name="ghost", grpc_services=("x.Y",)))],
     "system 'ghost' does not exist"),
    ([delete(system(PROVIDER))], "system 'registry' does not exist"),
    ([put(service(endpoints=()))], "has no endpoints"),
    ([delete(organization())], "organization '131016' does not exist"),
    ([put(_system_claiming("mallory", PROVIDER_ID))], "is not its identity"),
], ids=["no-consumer", "no-provider", "two-providers", "service-without-system",
        "provider-system-deleted", "no-endpoints", "org-deleted", "system-claims-another-identity"])
async def test_a_broken_reference_rejects_the_snapshot(
    mesh: Mesh, changes: list[Change], reason: str
) -> None:
    """References the control plane should have refused are refused here too."""
    await mesh.writer.apply(changes)
    with pytest.raises(SnapshotRejected, match=reason):
        mesh.compile((await mesh.values())[0])


@pytest.mark.parametrize("change,reason", [
    (Change(SYSTEM_KEY, "System", system("other").SerializeToString()), "metadata names"),
    (Change(SYSTEM_KEY, "Route", system(CONSUMER).SerializeToString()), "holds a 'Route'"),
    (Change(SYSTEM_KEY, "System", b"\xff\xff"), "not a valid System"),
    (Change(CONFIG_PREFIX + "res/System/a/b/c", "System", b""), "not a valid resource key"),
    (Change(resource_key("Organization", ORG, "x"), "Organization",
            organization_pb2.Organization().SerializeToString()), "platform-scoped"),
], ids=["name-mismatch", "kind-mismatch", "undecodable", "bad-key", "scope"])
async def test_a_signed_value_that_does_not_fit_its_key_is_refused(
    mesh: Mesh, change: Change, reason: str
) -> None:
    """A value signed for its key must still decode as the key's kind and name."""
    await mesh.writer.apply([change])
    with pytest.raises(SnapshotRejected, match=reason):
        mesh.compile((await mesh.values())[0])
