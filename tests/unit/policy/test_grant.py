"""Field grants on decoded messages: REMOVE and MASK, nested, repeated, maps, oneofs, unknowns."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from mesh.policy import FieldGrant, GrantMode, apply_grant
from mesh.policy.grant import resolve_path
from mesh.v1 import access_policy_pb2
from tests.unit.policy.world import message_class

Person = message_class("Person")


def _person() -> Message:
    person = Person()
    json_format.ParseDict({
        "familyName": "村上", "givenName": "春樹",
        "address": {"postalCode": "1000013", "city": "千代田区", "floor": 3},
        "previousAddresses": [{"postalCode": "6500001", "city": "神戸市"}, {"postalCode": "1500001", "city": "渋谷区"}],
        "phones": ["03-0000-0000", "090-0000-0000"], "age": "75", "alive": True, "photo": "AAE=",
        "kind": "KIND_RESIDENT", "tags": {"note": "secret"}, "score": 1.5, "email": "h@example.jp",
    }, person)
    person.extra.type_url = "type.googleapis.com/test.policy.v1.Address"
    person.extra.value = message_class("Address")(city="x").SerializeToString()
    return person


def _json(message: Message) -> dict:
    return json_format.MessageToDict(message)


def test_remove_keeps_only_granted_fields() -> None:
    """REMOVE clears every field that is not granted, top-level and nested."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.REMOVE, ("familyName", "address.postalCode")))
    assert _json(person) == {"familyName": "村上", "address": {"postalCode": "1000013"}}


def test_remove_through_repeated_messages_applies_to_every_element() -> None:
    """A path through a repeated message field keeps that part of each element."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.REMOVE, ("previousAddresses.city",)))
    assert _json(person) == {"previousAddresses": [{"city": "神戸市"}, {"city": "渋谷区"}]}


def test_granting_a_message_grants_all_of_it() -> None:
    """A granted message field keeps everything inside; a granted repeated field keeps all."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.REMOVE, ("address", "phones", "tags")))
    assert _json(person) == {"address": {"postalCode": "1000013", "city": "千代田区", "floor": 3},
                             "phones": ["03-0000-0000", "090-0000-0000"], "tags": {"note": "secret"}}


def test_mask_hides_values_but_keeps_presence() -> None:
    """MASK: strings "***", numbers 0, booleans false, enums zero, bytes empty; maps and Any
    cleared; granted fields untouched."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.MASK, ("givenName", "address.city")))
    assert person.family_name == "***" and person.given_name == "春樹"
    assert (person.address.postal_code, person.address.city, person.address.floor) == ("***", "千代田区", 0)
    assert [a.postal_code for a in person.previous_addresses] == ["***", "***"]
    assert [a.city for a in person.previous_addresses] == ["***", "***"]
    assert list(person.phones) == ["***", "***"]
    assert (person.age, person.alive, person.photo, person.kind, person.score) == (0, False, b"", 0, 0.0)
    assert len(person.tags) == 0 and not person.HasField("extra")
    assert person.WhichOneof("contact") == "email" and person.email == "***"


def test_mask_leaves_unset_fields_unset() -> None:
    """Masking never invents a value for a field the provider did not set."""
    person = Person(family_name="村上")
    apply_grant(person, FieldGrant(GrantMode.MASK, ("age",)))
    assert _json(person) == {"familyName": "***"}
    assert not person.HasField("address") and person.WhichOneof("contact") is None


def test_masked_oneof_number_keeps_its_case() -> None:
    """A masked oneof member stays the chosen member, with a zero value."""
    person = Person(extension=1234)
    apply_grant(person, FieldGrant(GrantMode.MASK, ("familyName",)))
    assert person.WhichOneof("contact") == "extension" and person.extension == 0


def test_unknown_fields_are_discarded() -> None:
    """Fields the descriptor does not know are never granted, even under a whole-message grant."""
    # Person's fields 6 and 7 mean nothing to Address: decoded as an Address they are unknown.
    address = message_class("Address").FromString(Person(age=75, alive=True).SerializeToString())
    assert address.SerializeToString() != b""
    apply_grant(address, FieldGrant(GrantMode.REMOVE, ("postalCode", "city", "floor")))
    assert address.SerializeToString() == b""


def test_path_into_a_scalar_grants_nothing() -> None:
    """A malformed path (into a string, into a map, an empty segment) does not widen the grant."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.REMOVE, ("familyName.x", "tags.note", "address.")))
    assert _json(person) == {}


def test_grant_round_trips_through_proto() -> None:
    """The wire form keeps mode and paths; an unspecified mode is refused."""
    grant = FieldGrant(GrantMode.MASK, ("a", "b.c"))
    assert FieldGrant.from_proto(grant.to_proto()) == grant
    with pytest.raises(ValueError):
        FieldGrant.from_proto(access_policy_pb2.FieldGrant(fields=["a"]))
    assert grant.summary() == "MASK all but a, b.c"


@pytest.mark.parametrize(("path", "problem"), [
    ("familyName", None),
    ("address.postalCode", None),
    ("previousAddresses.city", None),
    ("tags", None),
    ("family_name", "'family_name' is not a field of test.policy.v1.Person (JSON name: 'familyName')"),
    ("nope", "'nope' is not a field of test.policy.v1.Person"),
    ("address.nope", "'nope' is not a field of test.policy.v1.Address"),
    ("familyName.x", "'familyName' is not a message, it has no fields"),
    ("tags.note", "'tags' is a map: it can only be granted whole"),
    ("address..city", "has an empty segment"),
    ("", "has an empty segment"),
])
def test_resolve_path(path: str, problem: str | None) -> None:
    """Paths resolve by proto3 JSON names against the response descriptor."""
    assert resolve_path(Person.DESCRIPTOR, path) == problem


@pytest.mark.parametrize("fields", [("address.city", "address"), ("address", "address.city")])
def test_path_inside_a_granted_field_adds_nothing(fields: tuple[str, ...]) -> None:
    """Granting a message whole and a part of it grants it whole, in either order."""
    person = _person()
    apply_grant(person, FieldGrant(GrantMode.REMOVE, fields))
    assert _json(person) == {"address": {"postalCode": "1000013", "city": "千代田区", "floor": 3}}
