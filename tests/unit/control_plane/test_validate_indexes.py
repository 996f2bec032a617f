"""The World's indexes answer as a scan of its objects would, and REFERENCED_KINDS names every
kind that the reference checks read (the apply skips objects on its word)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from google.protobuf.message import Message

from control_plane.validate import REFERENCED_KINDS, Ref, World, check_references, providers_of, ref_of
from mesh.resources import KINDS

from .apply_world import world_documents
from .repository_fixtures import TRUST_DOMAIN


def _objects() -> dict[Ref, Message]:
    return {ref_of(m): m for m in world_documents()}


def _worlds() -> Iterator[World]:
    """The whole mesh, and the mesh without each one of its objects."""
    objects = _objects()
    yield World(objects, TRUST_DOMAIN)
    for ref in objects:
        yield World({r: m for r, m in objects.items() if r != ref}, TRUST_DOMAIN)


@dataclass(frozen=True)
class _Recording(World):
    """A World that notes the kinds asked for."""

    read: set[str] = field(default_factory=set)

    def get(self, kind: str, org: str, name: str) -> Message | None:
        self.read.add(kind)
        return super().get(kind, org, name)

    def of_kind(self, kind: str) -> Iterator[Message]:
        self.read.add(kind)
        return super().of_kind(kind)

    def owned_by(self, kind: str, org: str, system: str) -> Iterator[Message]:
        self.read.add(kind)
        return super().owned_by(kind, org, system)


def test_every_kind_says_what_its_references_read() -> None:
    """Each kind has an entry, and no reference check reads a kind its entry leaves out."""
    assert set(REFERENCED_KINDS) == set(KINDS)
    for world in _worlds():
        for ref, message in world.objects.items():
            recording = _Recording(world.objects, TRUST_DOMAIN)
            check_references(message, recording)
            assert recording.read <= REFERENCED_KINDS[ref[0]], ref


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_of_kind_lists_the_objects_of_a_kind_in_world_order(kind: str) -> None:
    """of_kind is the world's objects of that kind, in the world's order."""
    for world in _worlds():
        assert list(world.of_kind(kind)) == [m for (k, _, _), m in world.objects.items() if k == kind]


def test_owned_by_lists_a_systems_services_and_mappings() -> None:
    """owned_by is the Services (Mappings) whose spec.system is that System of that org."""
    objects = _objects()
    systems = {(org, name) for (kind, org, name) in objects if kind == "System"} | {("131016", "nobody")}
    for world in _worlds():
        for kind in ("Service", "Mapping"):
            for org, system in systems:
                assert list(world.owned_by(kind, org, system)) == [
                    m for m in world.objects.values() if m.DESCRIPTOR.name == kind
                    and m.metadata.org == org and m.spec.system == system]  # type: ignore[attr-defined]


def _providers_by_scan(grpc_service: str, world: World) -> list[tuple[str, str]]:
    services = [m for m in world.objects.values() if m.DESCRIPTOR.name == "Service"]
    found = [(s.metadata.org, s.spec.system) for s in services  # type: ignore[attr-defined]
             if grpc_service in s.spec.grpc_services]  # type: ignore[attr-defined]
    serving = {(s.metadata.org, s.spec.system) for s in services}  # type: ignore[attr-defined]
    for mapping in (m for m in world.objects.values() if m.DESCRIPTOR.name == "Mapping"):
        owner = (mapping.metadata.org, mapping.spec.system)  # type: ignore[attr-defined]
        if owner in serving and owner not in found and any(
                op.canonical.split("/")[1:2] == [grpc_service]
                for op in mapping.spec.operations):  # type: ignore[attr-defined]
            found.append(owner)
    return found


def test_providers_of_finds_what_a_scan_finds() -> None:
    """Providers through Services and through serving Systems' Mappings, for every world."""
    names = ["test.policy.v1.People", "tsunagi.gif.v1.PersonRegistry", "demo.v1.ResidentRegistry", "x.y.Z"]
    seen_both = False
    for world in _worlds():
        for name in names:
            assert providers_of(name, world) == _providers_by_scan(name, world), name
        seen_both |= all(providers_of(n, world) for n in names[:2])
    assert seen_both
