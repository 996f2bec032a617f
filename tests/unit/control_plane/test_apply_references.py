"""What an apply or delete re-checks: references it breaks are reported "(after this change)"
exactly as if every stored object were checked again, while objects whose referenced kinds it
did not touch are not checked again at all."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from google.protobuf.message import Message

from control_plane import repository
from control_plane.errors import Invalid
from control_plane.validate import Ref, ref_of
from demo.mappings import GET_PERSON
from tests.unit.policy.world import GET, ORG_A, ORG_B

from .apply_world import CANONICAL_SERVICE, edited, world_documents
from .repository_fixtures import ADMIN, TRUST_DOMAIN, Control, control, signer_pki  # noqa: F401


@pytest.fixture
async def world(control: Control) -> dict[Ref, Message]:
    """The whole mesh of apply_world, applied; returns the stored objects."""
    await control.repository.apply([(f"-#{i + 1}", m) for i, m in enumerate(world_documents())],
                                   ADMIN, dry_run=False)
    return (await control.repository.load()).objects


async def _errors(call: Awaitable[object]) -> list[str]:
    try:
        await call
    except Invalid as exc:
        return [str(e) for e in exc.errors]
    return []


def _recheck_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "references_may_break", lambda kind, touched: True)


async def test_every_delete_reports_what_checking_every_object_reports(
        control: Control, world: dict[Ref, Message], monkeypatch: pytest.MonkeyPatch) -> None:
    """For each object, deleting it gives the same errors, in the same order, as re-checking
    every stored object would."""
    fast = {ref: await _errors(control.repository.delete([ref], ADMIN, dry_run=True)) for ref in world}
    _recheck_everything(monkeypatch)
    slow = {ref: await _errors(control.repository.delete([ref], ADMIN, dry_run=True)) for ref in world}
    assert fast == slow
    assert sum(1 for errors in fast.values() if errors) >= 8  # most deletes break something


EDITS = [
    ("Service", ORG_A, "people", {"system": "welfare"}),
    ("Mapping", ORG_A, "registry-gif", {"system": "welfare"}),
    ("AccessPolicy", ORG_A, "registry-access", {"system": "welfare"}),
    ("Route", ORG_B, "kaigo-person", {"grpc_service": "test.policy.v1.Nobody"}),
]


@pytest.mark.parametrize("edit", EDITS, ids=[f"{e[0]}.{next(iter(e[3]))}" for e in EDITS])
async def test_every_edit_reports_what_checking_every_object_reports(
        control: Control, world: dict[Ref, Message], monkeypatch: pytest.MonkeyPatch,
        edit: tuple[str, str, str, dict[str, object]]) -> None:
    """An edit's errors are those of re-checking every stored object, and it breaks something."""
    kind, org, name, change = edit
    objects = [("-", edited(world[(kind, org, name)], change))]
    fast = await _errors(control.repository.apply(objects, ADMIN, dry_run=True))
    _recheck_everything(monkeypatch)
    assert fast == await _errors(control.repository.apply(objects, ADMIN, dry_run=True))
    assert fast


async def test_moving_a_service_breaks_what_used_it_after_this_change(
        control: Control, world: dict[Ref, Message]) -> None:
    """Moving the Service to another System breaks the policy's method and the route to the
    canonical service (its Mapping's System no longer serves), each reported as such."""
    moved = edited(world[("Service", ORG_A, "people")], {"system": "welfare"})
    errors = await _errors(control.repository.apply([("-", moved)], ADMIN, dry_run=True))
    assert errors == [
        f"AccessPolicy {ORG_A}/registry-access: spec.rules[0].methods[0]: {GET!r} is not a method the "
        "system provides (in its Services, or as a canonical operation of its Mappings) (after this change)",
        f"Route {ORG_B}/kaigo-person: spec.grpcService: no Service provides {CANONICAL_SERVICE!r} "
        "(after this change)",
    ]


async def test_deleting_a_system_lists_every_object_it_breaks(
        control: Control, world: dict[Ref, Message]) -> None:
    """Deleting the providing System reports its Service, Mapping and policy, in the world's
    order (the routes stay provided: the Service still lists its gRPC service)."""
    errors = await _errors(control.repository.delete([("System", ORG_A, "registry")], ADMIN, dry_run=True))
    missing = f"spec.system: system 'registry' does not exist in org {ORG_A} (after this change)"
    assert errors == [f"{kind} {ORG_A}/{name}: {missing}" for kind, name in (
        ("AccessPolicy", "registry-access"), ("Mapping", "registry-gif"), ("Service", "people"))]


async def test_a_route_apply_checks_no_other_object(
        control: Control, world: dict[Ref, Message], monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reads Routes, so changing one re-checks no stored object's references."""
    checked: list[Ref] = []
    real = repository.check_references

    def counting(message: Message, world: object) -> list[object]:
        checked.append(ref_of(message))
        return real(message, world)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "check_references", counting)
    route = edited(world[("Route", ORG_A, "welfare-people")], {})
    route.spec.timeout.FromSeconds(12)  # type: ignore[attr-defined]
    outcome = await control.repository.apply([("-", route)], ADMIN, dry_run=False)
    assert outcome.results[0].action != 0 and checked == []
    await _errors(control.repository.delete([("Purpose", "", "care-dispatch")], ADMIN, dry_run=True))
    assert checked == [("AccessPolicy", ORG_A, "registry-access")]  # the only reader of Purposes


async def test_a_canonical_method_stays_provided_through_the_mapping(
        control: Control, world: dict[Ref, Message]) -> None:
    """Dropping GetPerson from the registry's Mapping breaks only the policy that names it."""
    mapping = world[("Mapping", ORG_A, "registry-gif")]
    kept = [op for op in mapping.spec.operations if op.canonical != GET_PERSON]  # type: ignore[attr-defined]
    assert kept
    errors = await _errors(control.repository.apply([("-", edited(mapping, {"operations": kept}))],
                                                    ADMIN, dry_run=True))
    assert [e for e in errors if "(after this change)" in e] == [
        f"AccessPolicy {ORG_A}/registry-access: spec.rules[0].methods[1]: {GET_PERSON!r} is not a "
        "method the system provides (in its Services, or as a canonical operation of its Mappings) "
        "(after this change)"]
