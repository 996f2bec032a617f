"""AccessPolicy validation through the control plane's validator: every problem, with its
field path."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message

from control_plane.errors import FieldError
from control_plane.validate import World, check_references, ref_of, validate_object
from mesh.resources import DocumentError
from tests.unit.policy.world import (
    ADDRESS,
    GET,
    KAIGO,
    ORG_A,
    ORG_B,
    TD,
    base_resources,
    policy,
    resource,
    rule,
)


def _world(*extra: Message, without: tuple[str, str, str] | None = None) -> World:
    objects = {ref_of(m): m for m in (*base_resources(), *extra)}
    if without is not None:
        objects.pop(without)
    return World(objects, TD)


def _errors(message: Message, world: World | None = None) -> list[str]:
    return [str(e) for e in validate_object(message, world or _world(message))]


def test_valid_policy_has_no_errors() -> None:
    """Every caller form, grants, limits and purposeRequired: false validate cleanly."""
    good = policy(
        "registry-access",
        rule("exact", {"spiffeIds": [KAIGO]}, [GET], ["care-dispatch", "welfare-eligibility"],
             fieldGrant={"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["familyName", "address.postalCode",
                                                                     "previousAddresses.city", "tags"]},
             rateLimit={"requestsPerSecond": 0.5}),
        rule("org", {"org": ORG_B}, [GET, ADDRESS], ["welfare-eligibility"]),
        rule("systems", {"systems": [{"org": ORG_A, "name": "welfare"}, {"org": ORG_B, "name": "not-yet"}]},
             [ADDRESS], [], purposeRequired=False, fieldGrant={"mode": "FIELD_GRANT_MODE_MASK", "fields": ["city"]}))
    assert _errors(good) == []


def _rule_errors(**overrides: Any) -> list[str]:
    body = rule("r", {"org": ORG_B})
    body.update(overrides)
    return _errors(policy("p", body))


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"name": ""}, "spec.rules[0].name: required"),
    ({"name": "Bad_Name"}, "spec.rules[0].name: must be lower-case"),
    ({"callers": {}}, "spec.rules[0].callers: exactly one of spiffeIds, org and systems must be set"),
    ({"callers": {"org": ORG_B, "spiffeIds": [KAIGO]}},
     "spec.rules[0].callers: exactly one of spiffeIds, org and systems must be set (got spiffeIds, org)"),
    ({"callers": {"org": "Org B"}}, "spec.rules[0].callers.org: 'Org B' is not an org id"),
    ({"callers": {"spiffeIds": ["spiffe://other.test/org/141003/sys/kaigo"]}},
     "spec.rules[0].callers.spiffeIds[0]: must be a workload ID spiffe://tsunagi.test/org/ORG/sys/SYSTEM"),
    ({"callers": {"spiffeIds": [f"spiffe://{TD}/org/141003/operator/bob"]}},
     "spec.rules[0].callers.spiffeIds[0]: must be a workload ID"),
    ({"callers": {"spiffeIds": [KAIGO + "/"]}}, "spec.rules[0].callers.spiffeIds[0]: not a SPIFFE ID"),
    ({"callers": {"spiffeIds": [KAIGO, KAIGO]}}, "spec.rules[0].callers.spiffeIds[1]: duplicate"),
    ({"callers": {"systems": [{"org": ORG_B}]}}, "spec.rules[0].callers.systems[0].name: required"),
    ({"callers": {"systems": [{"org": ORG_B, "name": "a"}, {"org": ORG_B, "name": "a"}]}},
     "spec.rules[0].callers.systems[1]: duplicate system 141003/a"),
    ({"methods": []}, "spec.rules[0].methods: at least one method is required"),
    ({"methods": ["/test.policy.v1.People/*"]}, "spec.rules[0].methods[0]: '/test.policy.v1.People/*' is not an exact method path"),
    ({"methods": ["test.policy.v1.People/GetPerson"]}, "spec.rules[0].methods[0]: "),
    ({"methods": [GET + "/"]}, "spec.rules[0].methods[0]: "),
    ({"methods": ["/test.policy.v1.People/getperson"]},
     "spec.rules[0].methods[0]: '/test.policy.v1.People/getperson' is not a method the system provides (in its Services, or as a canonical operation of its Mappings)"),
    ({"methods": ["/demo.v1.Other/GetPerson"]}, "spec.rules[0].methods[0]: '/demo.v1.Other/GetPerson' is not a method"),
    ({"methods": [GET, GET]}, "spec.rules[0].methods[1]: duplicate"),
    ({"purposes": ["no-such-purpose"]}, "spec.rules[0].purposes[0]: purpose 'no-such-purpose' is not registered"),
    ({"purposes": ["care-dispatch", "care-dispatch"]}, "spec.rules[0].purposes[1]: duplicate"),
    ({"purposes": []}, "spec.rules[0].purposes: at least one purpose is required (or set purposeRequired: false"),
    ({"purposes": [], "purposeRequired": True}, "spec.rules[0].purposes: at least one purpose is required"),
    ({"purposeRequired": False}, "spec.rules[0].purposes: must be empty when purposeRequired is false"),
    ({"fieldGrant": {"fields": ["familyName"]}}, "spec.rules[0].fieldGrant.mode: required"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK"}}, "spec.rules[0].fieldGrant.fields: at least one field is required"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["family_name"]}},
     "spec.rules[0].fieldGrant.fields[0]: 'family_name' is not a field of test.policy.v1.Person (JSON name: 'familyName') "
     "(response of /test.policy.v1.People/GetPerson)"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["address.nope"]}},
     "spec.rules[0].fieldGrant.fields[0]: 'nope' is not a field of test.policy.v1.Address"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["tags.x"]}},
     "spec.rules[0].fieldGrant.fields[0]: 'tags' is a map: it can only be granted whole"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["address", "address.city"]}},
     "spec.rules[0].fieldGrant.fields[1]: 'address.city' is inside 'address', which is already granted whole"),
    ({"fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["age", "age"]}},
     "spec.rules[0].fieldGrant.fields[1]: duplicate 'age'"),
    ({"methods": [GET, ADDRESS], "fieldGrant": {"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["city"]}},
     "spec.rules[0].fieldGrant.fields[0]: 'city' is not a field of test.policy.v1.Person (response of "
     "/test.policy.v1.People/GetPerson)"),
    ({"rateLimit": {"burst": 3}}, "spec.rules[0].rateLimit.requestsPerSecond: required: greater than 0"),
    ({"rateLimit": {"requestsPerSecond": -1}}, "spec.rules[0].rateLimit.requestsPerSecond: required: greater than 0"),
    ({"rateLimit": {"requestsPerSecond": "NaN"}}, "spec.rules[0].rateLimit.requestsPerSecond: required"),
    ({"rateLimit": {"requestsPerSecond": 1e9}}, "spec.rules[0].rateLimit.requestsPerSecond: at most 100000"),
    ({"rateLimit": {"requestsPerSecond": 1, "burst": 1000001}}, "spec.rules[0].rateLimit.burst: at most 100000"),
])
def test_rule_error_names_its_field(overrides: dict[str, Any], expected: str) -> None:
    """Each bad rule field is reported at its path."""
    errors = _rule_errors(**overrides)
    assert any(e.startswith(expected) for e in errors), errors


def test_policy_level_errors() -> None:
    """A missing system, an unknown system, no rules and duplicate rule names are reported."""
    assert _errors(policy("p", rule("r", {"org": ORG_B}), system="")) == ["spec.system: required"]
    assert _errors(policy("p", rule("r", {"org": ORG_B}), system="nobody")) == [
        "spec.system: system 'nobody' does not exist in org 131016"]
    assert _errors(policy("p")) == ["spec.rules: at least one rule is required"]
    assert _errors(policy("p", rule("r", {"org": ORG_B}), rule("r", {"org": ORG_B}))) == [
        "spec.rules[1].name: duplicate rule name 'r'"]


def test_policy_for_another_orgs_system_is_refused() -> None:
    """spec.system is resolved in the policy's own org: org B cannot write policy for A's registry."""
    errors = _errors(policy("p", rule("r", {"org": ORG_B}), org=ORG_B))
    assert errors == ["spec.system: system 'registry' does not exist in org 141003"]


def test_every_problem_is_reported_at_once() -> None:
    """Several bad rules give all their errors, not just the first."""
    errors = _errors(policy("p", rule("a", {}, ["x"], ["nope"]), rule("B", {"org": ORG_B}, [GET], [])))
    assert {e.split(":")[0] for e in errors} >= {
        "spec.rules[0].callers", "spec.rules[0].methods[0]", "spec.rules[0].purposes[0]",
        "spec.rules[1].name", "spec.rules[1].purposes"}


def test_unknown_field_in_yaml_is_an_error() -> None:
    """A misspelt rule field is refused by the strict parser, never ignored."""
    with pytest.raises(DocumentError, match="purpose"):
        resource("AccessPolicy", "p", {"system": "registry", "rules": [{"name": "r", "purpose": ["x"]}]}, ORG_A)


def test_unregistering_a_used_purpose_breaks_the_policy() -> None:
    """Deleting a Purpose a policy names is reported as a broken reference."""
    p = policy("p", rule("r", {"org": ORG_B}, purposes=["care-dispatch"]))
    world = _world(p, without=("Purpose", "", "care-dispatch"))
    assert [str(e) for e in check_references(p, world)] == [
        "spec.rules[0].purposes[0]: purpose 'care-dispatch' is not registered"]


def test_removing_the_service_breaks_methods() -> None:
    """Deleting the Service that provides a method is reported as a broken reference."""
    p = policy("p", rule("r", {"org": ORG_B}))
    world = _world(p, without=("Service", ORG_A, "people"))
    assert [str(e) for e in check_references(p, world)] == [
        f"spec.rules[0].methods[0]: '{GET}' is not a method the system provides (in its Services, or as a canonical operation of its Mappings)"]


def test_deleting_a_caller_system_never_breaks_a_policy() -> None:
    """Callers are not references: another org's System may go without touching this policy."""
    p = policy("p", rule("r", {"systems": [{"org": ORG_B, "name": "kaigo"}]}))
    assert check_references(p, _world(p, without=("System", ORG_B, "kaigo"))) == []


def test_reference_check_ignores_other_kinds() -> None:
    """The policy reference check has nothing to say about other kinds."""
    world = _world()
    system = next(m for m in base_resources() if ref_of(m) == ("System", ORG_B, "kaigo"))
    assert check_references(system, world) == []


def test_field_errors_are_field_error_values() -> None:
    """The validator returns FieldError values, so the apply reports them with its label."""
    errors = validate_object(policy("p", rule("r", {"org": ORG_B}), system=""), _world())
    assert errors == [FieldError("spec.system", "required")]


def _translated_world(p: Message) -> World:
    """welfare has no Service, but its Mapping implements the canonical GetAddress of a
    Schema (people.proto stands in for the canonical schema)."""
    from mesh.v1 import mapping_pb2, schema_pb2
    from mesh.v1.meta_pb2 import ObjectMeta
    from tests.unit.policy.world import people_descriptor_set

    schema = schema_pb2.Schema(kind="Schema", metadata=ObjectMeta(name="people-v1"))
    schema.spec.descriptor_set = people_descriptor_set()
    mapping = mapping_pb2.Mapping(kind="Mapping", metadata=ObjectMeta(name="welfare-people", org=ORG_A))
    mapping.spec.system, mapping.spec.schema = "welfare", "people-v1"
    mapping.spec.operations.add(local="/welfare.v1.W/Addr", canonical=ADDRESS)
    objects = {ref_of(m): m for m in (*base_resources(), p)}
    objects[("Schema", "", "people-v1")] = schema
    objects[("Mapping", ORG_A, "welfare-people")] = mapping
    return World(objects, TD)


def test_canonical_operation_of_a_mapping_is_a_valid_method() -> None:
    """A method the System implements through its Mapping validates, with field paths checked
    against the canonical response."""
    good = policy("p", rule("r", {"org": ORG_B}, [ADDRESS], fieldGrant={
        "mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["city"]}), system="welfare")
    assert _errors(good, _translated_world(good)) == []
    bad = policy("p", rule("r", {"org": ORG_B}, [ADDRESS, GET], fieldGrant={
        "mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["nope"]}), system="welfare")
    errors = _errors(bad, _translated_world(bad))
    assert any(e.startswith(f"spec.rules[0].methods[1]: '{GET}' is not a method") for e in errors), errors
    assert any(e.startswith("spec.rules[0].fieldGrant.fields[0]: 'nope' is not a field of test.policy.v1.Address")
               for e in errors), errors
