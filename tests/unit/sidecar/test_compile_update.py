"""compile_update (one watch batch onto the applied config) must give exactly what
compile_full gives for the whole new state: the same Snapshot, or a rejection for the same
reason. Each case applies changes the control plane's way (or writes behind its back) and
compiles both ways."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from certs.ca import create_intermediate
from demo import resources as demo
from demo.mappings import registry_mapping
from mesh.commit import Change
from mesh.keys import HEAD_KEY, resource_key
from mesh.resources import from_dict
from mesh.signing import ValueRejected
from mesh.store.base import Delete, Put
from mesh.translate import gif
from mesh.v1 import purpose_pb2
from mesh.resources import API_VERSION
from mesh.v1.meta_pb2 import ObjectMeta
from sidecar.compile import Compiled, SnapshotRejected, compile_full, compile_update, needs_full_compile
from sidecar.snapshot import Snapshot
from tests.support.config_writer import SignerIdentity
from tests.support.resources import (
    CONSUMER,
    CONSUMER_ID,
    ORG,
    PROVIDER,
    PROVIDER_ID,
    SERVICE,
    TRUST_DOMAIN,
    access_policy,
    delete,
    denylist,
    organization,
    put,
    route,
    service,
    system,
    trust_bundle,
)
from tests.unit.sidecar.conftest import Mesh

Step = Callable[[Mesh], Awaitable[Any]]


def _delta(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[dict[str, bytes], set[str]]:
    puts = {k: v for k, v in new.items() if old.get(k) != v}
    return puts, set(old) - set(new)


def _comparable(snapshot: Snapshot) -> dict[str, Any]:
    """Every field of a Snapshot; compiled translations by their paths and versions."""
    return {
        "routes": dict(snapshot.routes), "method_kinds": dict(snapshot.method_kinds),
        "policy": snapshot.policy, "own_system": snapshot.own_system,
        "response_types": {p: t.DESCRIPTOR.full_name for p, t in snapshot.response_types.items()},
        "translations": {p: (op.local, op.canonical) for p, op in snapshot.translations.items()},
        "revision": snapshot.revision, "version": snapshot.version,
        "config_hash": snapshot.config_hash, "denied": snapshot.denied,
        "trust_roots_pem": snapshot.trust_roots_pem, "versions": dict(snapshot.versions),
    }


async def _both_ways(mesh: Mesh, step: Step, own: str = CONSUMER_ID) -> tuple[Any, Any]:
    """(full, update) outcome of compiling the state after `step`: the Snapshot's fields or
    the rejection reason."""
    values, revision = await mesh.values()
    base = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, own, revision)
    await step(mesh)
    new_values, new_revision = await mesh.values()
    puts, deletes = _delta(values, new_values)
    assert puts or deletes, "the step changed nothing"
    outcomes = []
    for compile_ in (
        lambda: compile_full(new_values, [mesh.root.cert], TRUST_DOMAIN, own, new_revision,
                             applied=base.snapshot),
        lambda: compile_update(base, puts, deletes, new_revision, [mesh.root.cert]),
    ):
        try:
            compiled = compile_()
        except SnapshotRejected as exc:
            outcomes.append(("rejected", exc.reason))
        else:
            assert dict(compiled.values) == new_values
            outcomes.append(("applied", _comparable(compiled.snapshot)))
    return outcomes[0], outcomes[1]


def _apply(*changes: Change) -> Step:
    async def step(mesh: Mesh) -> int:
        return await mesh.writer.apply(list(changes))
    return step


def _behind_the_back(key: str, value: bytes | None) -> Step:
    async def step(mesh: Mesh) -> int:
        op = Delete(key.encode()) if value is None else Put(key.encode(), value)
        return (await mesh.store.txn([], [op])).revision
    return step


def _purpose(name: str) -> purpose_pb2.Purpose:
    return purpose_pb2.Purpose(api_version=API_VERSION, kind="Purpose",
                               metadata=ObjectMeta(name=name),
                               spec=purpose_pb2.PurposeSpec(display_name=name, legal_basis="法"))


def _claiming(name: str, spiffe_id: str) -> Any:
    claimed = system(name)
    claimed.spec.spiffe_id = spiffe_id
    return claimed


APPLIED_CASES: dict[str, Step] = {
    "own-route-timeout": _apply(put(route(timeout_s=9.0))),
    "own-route-deleted": _apply(delete(route())),
    "own-route-moved-to-another-consumer": _apply(put(system("other")), put(route(consumer="other"))),
    "another-consumers-route": _apply(put(system("other")), put(route("other-echo", consumer="other"))),
    "provider-endpoints": _apply(put(service(endpoints=("127.0.0.1:5001",)))),
    "provider-identity-moves": _apply(put(system("registry2")), put(service(system_name="registry2"))),
    "new-system": _apply(put(system("kaigo"))),
    "policy-changed": _apply(put(access_policy(methods=(f"/{SERVICE}/Unary",)))),
    "policy-deleted": _apply(delete(access_policy())),
    "purpose-added": _apply(put(_purpose("care"))),
    "denylist-set": _apply(denylist(PROVIDER_ID)),
    "trust-bundle-set": _apply(trust_bundle(b"")),
    "second-org": _apply(put(organization("141003")), put(system("x", org="141003"))),
    "unknown-kind": _apply(Change(resource_key("Gadget", ORG, "g"), "Gadget", b"\x01")),
}


@pytest.mark.parametrize("step", APPLIED_CASES.values(), ids=APPLIED_CASES.keys())
async def test_an_update_compiles_to_what_a_full_compile_gives(mesh: Mesh, step: Step) -> None:
    full, update = await _both_ways(mesh, step)
    if full[0] == "rejected":
        # trust-bundle-set: b"" is no PEM; both ways must say so.
        assert "not a PEM certificate" in full[1]
    assert update == full


REJECTED_CASES: dict[str, Step] = {
    "consumer-missing": _apply(put(route(consumer="nobody"))),
    "provider-missing": _apply(put(route(grpc_service="test.Missing"))),
    "two-providers": _apply(put(service("second-api"))),
    "service-without-system": _apply(put(service("orphan", system_name="ghost", grpc_services=("x.Y",)))),
    "provider-system-deleted": _apply(delete(system(PROVIDER))),
    "consumer-system-deleted": _apply(delete(system(CONSUMER))),
    "no-endpoints": _apply(put(service(endpoints=()))),
    "org-deleted": _apply(delete(organization())),
    "system-in-a-missing-org": _apply(put(system("x", org="141003"))),
    "system-claims-another-identity": _apply(put(_claiming("mallory", PROVIDER_ID))),
    "value-edited-behind-the-back": _behind_the_back(resource_key("Route", ORG, "welfare-echo"), b"x"),
    "key-added-behind-the-back": _behind_the_back(resource_key("Purpose", "", "care"), b"x"),
    "key-deleted-behind-the-back": _behind_the_back(resource_key("Route", ORG, "welfare-echo"), None),
    "head-deleted": _behind_the_back(HEAD_KEY, None),
}


@pytest.mark.parametrize("step", REJECTED_CASES.values(), ids=REJECTED_CASES.keys())
async def test_an_update_is_refused_for_the_reason_a_full_compile_gives(mesh: Mesh, step: Step) -> None:
    full, update = await _both_ways(mesh, step)
    assert full[0] == "rejected", full
    assert update == full


async def test_a_replayed_value_is_refused_by_an_update(mesh: Mesh) -> None:
    """A batch that puts back an older signed value (with the current head re-sealed over it
    by a stolen key) is a replay, however it arrives."""
    values, revision = await mesh.values()
    base = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, CONSUMER_ID, revision)
    await mesh.writer.apply([put(route(timeout_s=9.0))])
    newer, newer_revision = await mesh.values()
    applied = compile_update(base, *_delta(values, newer), newer_revision, [mesh.root.cert])
    key = resource_key("Route", ORG, "welfare-echo")
    replayed = mesh.reseal({**newer, key: values[key]})
    with pytest.raises(SnapshotRejected, match="replayed value"):
        compile_update(applied, *_delta(newer, replayed), newer_revision + 1, [mesh.root.cert])


async def test_updates_in_a_row_match_a_full_compile_of_the_end_state(mesh: Mesh) -> None:
    """Twenty updates, each onto the last, end where one full compile of the last state is."""
    values, revision = await mesh.values()
    current = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, CONSUMER_ID, revision)
    for i in range(20):
        changes = [put(route(timeout_s=1.0 + i))]
        if i % 5 == 0:
            changes.append(put(system(f"s{i}")))
        if i % 7 == 3:
            changes.append(delete(system(f"s{i - 3}")))
        await mesh.writer.apply(changes)
        new, revision = await mesh.values()
        current = compile_update(current, *_delta(values, new), revision, [mesh.root.cert])
        values = new
    full = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, CONSUMER_ID, revision)
    assert _comparable(current.snapshot) == _comparable(full.snapshot)
    assert current.snapshot.routes[SERVICE].timeout == 20.0


async def test_a_new_signer_or_trust_bundle_compiles_everything(mesh: Mesh) -> None:
    """Changes to what is trusted go through the full compile; others do not."""
    values, revision = await mesh.values()
    base = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, CONSUMER_ID, revision)
    assert not needs_full_compile(base, [resource_key("Route", ORG, "r")], [])
    assert needs_full_compile(base, [trust_bundle(b"").key], [])
    rotated = SignerIdentity.issue(create_intermediate(mesh.root, "Second"), TRUST_DOMAIN)
    mesh.writer.rotate(rotated)
    await mesh.writer.apply([put(route(timeout_s=4.0))])
    new, new_revision = await mesh.values()
    puts, deletes = _delta(values, new)
    assert needs_full_compile(base, puts, deletes)
    updated = compile_update(base, puts, deletes, new_revision, [mesh.root.cert])
    assert updated.snapshot.routes[SERVICE].timeout == 4.0


async def test_an_expired_signer_is_not_trusted_by_an_update(
        mesh: Mesh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the signer certificate's expiry an update re-checks the signers and refuses."""
    values, revision = await mesh.values()
    base = compile_full(values, [mesh.root.cert], TRUST_DOMAIN, CONSUMER_ID, revision)
    await mesh.writer.apply([put(route(timeout_s=4.0))])
    new, new_revision = await mesh.values()
    later = base.verifier_until + 1
    monkeypatch.setattr("sidecar.compile.time.time", lambda: later)

    def expired(*_: object, **__: object) -> None:
        raise ValueRejected("certificate has expired")  # what the chain check says by then
    monkeypatch.setattr("sidecar.compile.signer_public_key", expired)
    assert needs_full_compile(base, [], [])
    with pytest.raises(SnapshotRejected, match="unknown signing key"):
        compile_update(base, *_delta(values, new), new_revision, [mesh.root.cert])


async def test_a_mapping_change_updates_the_translations(mesh: Mesh) -> None:
    """A provider's Mapping added, then changed: translations, method kinds and response
    types follow, the same both ways."""
    registry_id = f"spiffe://{TRUST_DOMAIN}/org/{demo.CITY_A}/sys/registry"
    from demo.v1 import registry_pb2
    docs = [demo.system(TRUST_DOMAIN, demo.CITY_A, "registry", "registry"),
            demo.service(demo.CITY_A, "resident-registry", "registry", ["demo.v1.ResidentRegistry"],
                         [registry_pb2.DESCRIPTOR], ["127.0.0.1:4101"]),
            gif.schema_document()]
    await mesh.writer.apply([put(from_dict(d)) for d in docs])
    full, update = await _both_ways(mesh, _apply(put(from_dict(registry_mapping()))), registry_id)
    assert full[0] == "applied" and full[1]["translations"], full
    assert update == full
    changed = registry_mapping(version="1.0.1")
    full, update = await _both_ways(mesh, _apply(put(from_dict(changed))), registry_id)
    assert full[0] == "applied" and update == full
    full, update = await _both_ways(mesh, _apply(delete(from_dict(changed))), registry_id)
    assert full[0] == "applied" and not full[1]["translations"] and update == full


def test_compiled_state_is_not_changed_by_a_later_update() -> None:
    """Compiled is frozen: a later compile copies what it changes (checked by type here;
    the behaviour by every case above compiling both ways from one base)."""
    assert Compiled.__dataclass_params__.frozen  # type: ignore[attr-defined]
