"""Applying Mappings: the demo's are accepted; bad ones are refused with field paths and
nothing is written (the store's revision is unchanged)."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from control_plane.errors import Invalid
from demo.mappings import registry_mapping, welfare_mapping
from demo.resources import CITY_A, CITY_B, organization, system
from mesh.resources import from_dict
from mesh.translate import gif
from mesh.v1 import control_plane_pb2 as api

from .repository_fixtures import ADMIN, TRUST_DOMAIN, Control, control, signer_pki  # noqa: F401

PERSON = 2  # spec.messages index of the Person message mapping in both demo mappings


async def _apply(control: Control, *documents: dict[str, Any]) -> list[int]:
    outcome = await control.repository.apply(
        [(f"-#{i + 1}", from_dict(d)) for i, d in enumerate(documents)], ADMIN, dry_run=False)
    return [p.action for p in outcome.results]


@pytest.fixture
async def mesh(control: Control) -> Control:
    """Both cities, their systems, and the shipped Schema."""
    await _apply(control, organization(CITY_A, "千代田区"), organization(CITY_B, "横浜市"),
                 gif.schema_document(), system(TRUST_DOMAIN, CITY_A, "registry", "住民基本台帳"),
                 system(TRUST_DOMAIN, CITY_B, "welfare", "福祉総合システム"))
    return control


async def test_the_demo_mappings_are_accepted(mesh: Control) -> None:
    """Both demo Mappings validate (examples included) and are created."""
    actions = await _apply(mesh, registry_mapping(), welfare_mapping())
    assert actions == [api.APPLY_ACTION_CREATED, api.APPLY_ACTION_CREATED]


def _person_rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["spec"]["messages"][PERSON]["rules"]  # type: ignore[no-any-return]


def _type_mismatch(d: dict[str, Any]) -> None:
    _person_rules(d)[5] = {"field": {"local": ["jusho"], "canonical": ["address"]}}


def _unproduced_required(d: dict[str, Any]) -> None:
    _person_rules(d)[1] = {"field": {"local": ["shimei"], "canonical": ["familyName"]}}


def _failing_example(d: dict[str, Any]) -> None:
    d["spec"]["examples"][2]["canonical"]["dateOfBirth"] = "1949-01-13"


def _cycle(d: dict[str, Any]) -> None:
    _person_rules(d).append({"nested": {"local": "name", "canonical": "contactPoint",
                                        "mapping": "citizen"}})


def _no_inverse(d: dict[str, Any]) -> None:
    _person_rules(d)[0] = {"field": {"local": ["resident_code"], "canonical": ["personId"],
                                     "functions": [{"name": "digits_to_ascii"}]}}


def _unknown_method(d: dict[str, Any]) -> None:
    d["spec"]["operations"][0]["canonical"] = "/tsunagi.gif.v1.PersonRegistry/GetPeople"


def _missing_system(d: dict[str, Any]) -> None:
    d["spec"]["system"] = "nobody"


REFUSED: list[tuple[str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None], str, str]] = [
    ("a type mismatch", registry_mapping, _type_mismatch,
     f"spec.messages[{PERSON}].rules[5].field.canonical[0]", "type mismatch"),
    ("an unproduced required field", registry_mapping, _unproduced_required,
     f"spec.messages[{PERSON}].rules", "required canonical field 'given_name'"),
    ("a failing example", registry_mapping, _failing_example,
     "spec.examples[2].canonical.dateOfBirth", "expected '1949-01-13', got '1949-01-12'"),
    ("a cycle", welfare_mapping, _cycle,
     f"spec.messages[{PERSON}].rules[10].nested.mapping", "cycle of nested message mappings: citizen → citizen"),
    ("a function without an inverse", registry_mapping, _no_inverse,
     f"spec.messages[{PERSON}].rules[0].field.functions[0].name", "no inverse"),
    ("an operation the Schema does not have", registry_mapping, _unknown_method,
     "spec.operations[0].canonical", "no method 'GetPeople'"),
    ("a System that does not exist", registry_mapping, _missing_system,
     "spec.system", "does not exist"),
]


@pytest.mark.parametrize(("what", "make", "break_", "path", "fragment"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_bad_mapping_is_refused_with_its_path_and_nothing_written(
    mesh: Control, what: str, make: Callable[[], dict[str, Any]],
    break_: Callable[[dict[str, Any]], None], path: str, fragment: str,
) -> None:
    """INVALID_ARGUMENT listing the problem at its field path; the etcd revision is unchanged."""
    document = copy.deepcopy(make())
    break_(document)
    before = await mesh.store.current_revision()
    with pytest.raises(Invalid) as exc:
        await _apply(mesh, document)
    name = f"-#1 Mapping {document['metadata']['org']}/{document['metadata']['name']}"
    errors = [(e.path, e.message) for e in exc.value.errors]
    assert any(p == f"{name}: {path}" and fragment in m for p, m in errors), errors
    assert await mesh.store.current_revision() == before


async def test_two_mappings_of_one_system_cannot_map_the_same_method(mesh: Control) -> None:
    """A second Mapping for the registry's GetResident is refused, naming the first."""
    await _apply(mesh, registry_mapping())
    second = registry_mapping()
    second["metadata"]["name"] = "registry-gif-copy"
    with pytest.raises(Invalid) as exc:
        await _apply(mesh, second)
    assert any("spec.operations[0].local" in e.path and "registry-gif" in e.message
               for e in exc.value.errors)


async def test_deleting_a_mapped_system_is_refused(mesh: Control) -> None:
    """The Mapping's reference check stops its System from being deleted under it."""
    await _apply(mesh, welfare_mapping())
    with pytest.raises(Invalid) as exc:
        await mesh.repository.delete([("System", CITY_B, "welfare")], ADMIN, dry_run=False)
    assert any("Mapping 141003/welfare-gif: spec.system" in e.path for e in exc.value.errors)
