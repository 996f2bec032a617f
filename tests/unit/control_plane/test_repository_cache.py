"""The Repository decodes a stored value once and reuses it while the exact bytes, their mod
revision and the trust in their signer stay the same; anything else is read afresh."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message

from certs.ca import Issued, create_intermediate
from control_plane.errors import Conflict
from control_plane.repository import Repository
from mesh import keys
from mesh.commit import Change
from mesh.signing import Verifier
from mesh.store.base import Delete, Put
from tests.support.config_writer import ConfigWriter, SignerIdentity
from tests.unit.policy.world import ORG_A

from .apply_world import edited, world_documents
from .repository_fixtures import ADMIN, TRUST_DOMAIN, Control, control, signer_pki  # noqa: F401

ROUTE = ("Route", ORG_A, "welfare-people")


@pytest.fixture
async def mesh(control: Control) -> Control:
    await control.repository.apply([("-", m) for m in world_documents()], ADMIN, dry_run=False)
    return control


def _retimed(route: Message, seconds: int) -> Message:
    changed = edited(route, {})
    changed.spec.timeout.FromSeconds(seconds)  # type: ignore[attr-defined]
    return changed


async def test_unchanged_objects_are_shared_and_a_write_changes_none_of_them(mesh: Control) -> None:
    """Two loads share unchanged messages; a write gives the changed object a new message and
    leaves the one an earlier load returned as it was."""
    first = (await mesh.repository.load()).objects
    assert all(m is n for m, n in zip(first.values(), (await mesh.repository.load()).objects.values()))
    old = first[ROUTE]
    version = old.metadata.resource_version  # type: ignore[attr-defined]
    before = old.SerializeToString(deterministic=True)
    await mesh.repository.apply([("-", _retimed(old, 12))], ADMIN, dry_run=False)
    after = (await mesh.repository.load()).objects
    assert after[ROUTE] is not old and after[ROUTE].spec.timeout.seconds == 12  # type: ignore[attr-defined]
    assert int(after[ROUTE].metadata.resource_version) > int(version)  # type: ignore[attr-defined]
    assert old.SerializeToString(deterministic=True) == before
    assert all(after[ref] is first[ref] for ref in first if ref != ROUTE)


async def test_a_value_moved_behind_the_control_plane_is_not_served_from_the_cache(mesh: Control) -> None:
    """Another key's signed bytes put at the Route's key are refused, though the Route was
    decoded before."""
    loaded = await mesh.repository.load()
    assert ROUTE in loaded.objects
    other = loaded.raw[keys.resource_key("Route", "141003", "kaigo-person")]
    await mesh.store.txn([], [Put(keys.resource_key(*ROUTE).encode(), other)])
    assert ROUTE not in (await mesh.repository.load()).objects


async def test_values_of_a_signer_no_longer_stored_are_dropped(
        mesh: Control, signer_pki: tuple[Issued, SignerIdentity]) -> None:
    """A Route written by a second signer is loaded while that signer's chain is stored, and
    not once the chain is gone."""
    root, _ = signer_pki
    second = SignerIdentity.issue(create_intermediate(root, "Second Intermediate"), TRUST_DOMAIN)
    route = edited((await mesh.repository.load()).objects[ROUTE], {})
    route.metadata.name = "by-second-signer"  # type: ignore[attr-defined]
    ref = ("Route", ORG_A, "by-second-signer")
    await ConfigWriter(mesh.store, second).apply(
        [Change(keys.resource_key(*ref), "Route", route.SerializeToString())])
    assert ref in (await mesh.repository.load()).objects
    await mesh.store.txn([], [Delete(keys.signer_key(second.signer.key_id).encode())])
    assert ref not in (await mesh.repository.load()).objects


async def test_a_stale_resource_version_is_still_a_conflict(mesh: Control) -> None:
    """An apply carrying the resourceVersion of an earlier load fails with Conflict, and
    nothing is written."""
    stale = (await mesh.repository.load()).objects[ROUTE]
    await mesh.repository.apply([("-", _retimed(stale, 12))], ADMIN, dry_run=False)
    again = _retimed(stale, 13)
    again.metadata.resource_version = stale.metadata.resource_version  # type: ignore[attr-defined]
    revision = await mesh.store.current_revision()
    with pytest.raises(Conflict, match="is stale"):
        await mesh.repository.apply([("-", again)], ADMIN, dry_run=False)
    assert await mesh.store.current_revision() == revision


def _view(loaded) -> tuple:  # type: ignore[no-untyped-def]
    return (loaded.raw, loaded.mod_revisions, loaded.version, loaded.head_mod_revision,
            {ref: m.SerializeToString(deterministic=True) for ref, m in loaded.objects.items()})


async def _fresh_view(control: Control, signer_pki: tuple[Issued, SignerIdentity]) -> tuple:  # type: ignore[type-arg]
    root, identity = signer_pki
    fresh = Repository(control.store, identity.signer, identity.chain_pem, [root.cert], TRUST_DOMAIN)
    return _view(await fresh.load())


@pytest.mark.parametrize("change", ["edit through the API", "key deleted in etcd", "key added in etcd",
                                    "key deleted and another added", "value replaced in etcd",
                                    "head deleted", "nothing", "edit through the API, then replaced in etcd",
                                    "edit through the API, then head replaced in etcd",
                                    "delete through the API"])
async def test_a_load_after_a_load_equals_a_whole_load(
        mesh: Control, signer_pki: tuple[Issued, SignerIdentity], change: str) -> None:
    """The next load reads only what changed since the last one, yet sees exactly what a
    repository reading everything sees, deletions made behind its back included."""
    loaded = await mesh.repository.load()
    route_key = keys.resource_key(*ROUTE)
    other_key = keys.resource_key("Route", "141003", "kaigo-person")
    if change.startswith("edit through the API"):
        await mesh.repository.apply([("-", _retimed(loaded.objects[ROUTE], 13))], ADMIN, dry_run=False)
        if change.endswith("then replaced in etcd"):
            await mesh.store.txn([], [Put(route_key.encode(), loaded.raw[route_key])])
        elif change.endswith("then head replaced in etcd"):
            await mesh.store.txn([], [Put(keys.HEAD_KEY.encode(), loaded.raw[keys.HEAD_KEY])])
    elif change == "delete through the API":
        await mesh.repository.delete([ROUTE], ADMIN, dry_run=False)
    elif change == "key deleted in etcd":
        await mesh.store.txn([], [Delete(route_key.encode())])
    elif change == "key added in etcd":
        await mesh.store.txn([], [Put((route_key + "-copy").encode(), loaded.raw[route_key])])
    elif change == "key deleted and another added":
        await mesh.store.txn([], [Delete(route_key.encode()),
                                  Put((route_key + "-copy").encode(), loaded.raw[route_key])])
    elif change == "value replaced in etcd":
        await mesh.store.txn([], [Put(route_key.encode(), loaded.raw[other_key])])
    elif change == "head deleted":
        await mesh.store.txn([], [Delete(keys.HEAD_KEY.encode())])
    assert _view(await mesh.repository.load()) == await _fresh_view(mesh, signer_pki)


async def test_a_load_after_its_own_write_verifies_none_of_its_own_signatures(
        mesh: Control, monkeypatch: pytest.MonkeyPatch) -> None:
    """What this repository just committed is read back by the next load as it wrote it:
    bytes and revision equal, so its own signatures are not verified again. A value put in
    their place behind its back is verified (and here refused)."""
    loaded = await mesh.repository.load()
    await mesh.repository.apply([("-", _retimed(loaded.objects[ROUTE], 14))], ADMIN, dry_run=False)
    verified: list[str] = []
    real = Verifier.verify
    monkeypatch.setattr(Verifier, "verify", lambda self, key, raw: verified.append(key) or real(self, key, raw))
    after = await mesh.repository.load()
    assert verified == []
    assert after.objects[ROUTE].spec.timeout.seconds == 14  # type: ignore[attr-defined]
    assert after.version == loaded.version + 1
    other = after.raw[keys.resource_key("Route", "141003", "kaigo-person")]
    await mesh.store.txn([], [Put(keys.resource_key(*ROUTE).encode(), other)])
    assert ROUTE not in (await mesh.repository.load()).objects
    assert verified == [keys.resource_key(*ROUTE)]
