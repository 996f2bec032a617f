"""Applying Schemas: compatible changes within a major version pass; the rest are refused
against the stored version, each with its path, and nothing is written."""

from __future__ import annotations

import base64
from typing import Any, Callable

import pytest
from google.protobuf import descriptor_pb2

from control_plane.errors import Invalid
from mesh.resources import from_dict
from mesh.translate import gif
from mesh.v1 import control_plane_pb2 as api

from .repository_fixtures import ADMIN, Control, control, signer_pki  # noqa: F401

Edit = Callable[[descriptor_pb2.DescriptorProto], None]
STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
INT32 = descriptor_pb2.FieldDescriptorProto.TYPE_INT32


def _schema(version: str = gif.VERSION, edit: Edit | None = None, name: str = gif.NAME) -> dict[str, Any]:
    """The shipped Schema document, with Person edited by `edit`."""
    files = descriptor_pb2.FileDescriptorSet.FromString(gif.descriptor_set())
    if edit is not None:
        person = next(m for f in files.file for m in f.message_type
                      if f.package == gif.PACKAGE and m.name == "Person")
        edit(person)
    document = gif.schema_document()
    document["metadata"]["name"] = name
    document["spec"]["version"] = version
    document["spec"]["descriptorSet"] = base64.b64encode(files.SerializeToString()).decode()
    return document


async def _apply(control: Control, document: dict[str, Any]) -> int:
    outcome = await control.repository.apply([("-#1", from_dict(document))], ADMIN, dry_run=False)
    return outcome.results[0].action


def _add(number: int, name: str = "nickname", required: bool = False) -> Edit:
    def edit(person: descriptor_pb2.DescriptorProto) -> None:
        field = person.field.add(name=name, number=number, type=STRING, json_name=name)
        field.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
        if required:
            field.options.Extensions[gif.REQUIRED] = True
    return edit


def _field(name: str) -> Callable[[descriptor_pb2.DescriptorProto], descriptor_pb2.FieldDescriptorProto]:
    return lambda person: next(f for f in person.field if f.name == name)


def _remove_sex(person: descriptor_pb2.DescriptorProto) -> None:
    person.field.remove(_field("sex")(person))


def _retype_sex(person: descriptor_pb2.DescriptorProto) -> None:
    _field("sex")(person).type = INT32


def _rename_sex(person: descriptor_pb2.DescriptorProto) -> None:
    field = _field("sex")(person)
    field.name, field.json_name = "gender", "gender"


def _reserve(person: descriptor_pb2.DescriptorProto) -> None:
    person.reserved_range.add(start=40, end=41)


async def test_a_compatible_change_with_a_higher_version_is_accepted(control: Control) -> None:
    """A new optional field in version 1.1 of gif-core-v1 is a compatible change."""
    assert await _apply(control, _schema()) == api.APPLY_ACTION_CREATED
    assert await _apply(control, _schema("1.1", _add(12))) == api.APPLY_ACTION_CONFIGURED


REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("a removed field", _schema("1.1", _remove_sex), "spec.descriptorSet",
     "field tsunagi.gif.v1.Person.sex (= 7) removed: needs a new major version"),
    ("a retyped field", _schema("1.1", _retype_sex), "spec.descriptorSet",
     "retyped from string to int32"),
    ("a renamed field", _schema("1.1", _rename_sex), "spec.descriptorSet", "renamed to 'gender'"),
    ("a new required field", _schema("1.1", _add(12, required=True)), "spec.descriptorSet",
     "is required: needs a new major version"),
    ("changed descriptors at the same version", _schema(gif.VERSION, _add(12)), "spec.version",
     "must go up from 1.0"),
    ("a major version in the wrong Schema", _schema("2.0", _add(12)), "spec.version",
     "major version must be 1"),
    ("a removed listed message", {**_schema("1.1"), "spec": {**_schema("1.1")["spec"], "messages": [
        m for m in gif.MESSAGES if not m.endswith(".Payment")]}}, "spec.messages",
     "'tsunagi.gif.v1.Payment' was listed in version 1.0"),
]


@pytest.mark.parametrize(("what", "document", "path", "fragment"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_an_incompatible_change_is_refused_and_nothing_written(
    control: Control, what: str, document: dict[str, Any], path: str, fragment: str,
) -> None:
    """Against the stored 1.0: refused with the path and reason; the revision is unchanged."""
    await _apply(control, _schema())
    before = await control.store.current_revision()
    with pytest.raises(Invalid) as exc:
        await _apply(control, document)
    errors = [(e.path, e.message) for e in exc.value.errors]
    assert any(p == f"-#1 Schema -/gif-core-v1: {path}" and fragment in m for p, m in errors), errors
    assert await control.store.current_revision() == before


async def test_a_reserved_number_is_never_reused(control: Control) -> None:
    """1.1 reserves 40; 1.2 adding a field numbered 40 is refused."""
    await _apply(control, _schema("1.1", _reserve))
    with pytest.raises(Invalid) as exc:
        await _apply(control, _schema("1.2", lambda p: (_reserve(p), _add(40)(p))))  # type: ignore[func-returns-value]
    assert any("reuses a reserved number" in e.message for e in exc.value.errors)


async def test_a_new_major_version_is_a_new_schema(control: Control) -> None:
    """gif-core-v2 at 2.0 may drop a field: it lives beside gif-core-v1."""
    await _apply(control, _schema())
    assert await _apply(control, _schema("2.0", _remove_sex, name="gif-core-v2")) == api.APPLY_ACTION_CREATED


@pytest.mark.parametrize(("document", "path"), [
    ({**_schema(), "metadata": {"name": "gif-core"}}, "metadata.name"),
    ({**_schema(), "spec": {**_schema()["spec"], "version": "1"}}, "spec.version"),
    ({**_schema(), "spec": {**_schema()["spec"], "messages": ["tsunagi.gif.v1.Nope"]}}, "spec.messages[0]"),
    ({**_schema(), "spec": {**_schema()["spec"], "descriptorSet": "AAAA"}}, "spec.descriptorSet"),
])
async def test_a_malformed_schema_is_refused(control: Control, document: dict[str, Any], path: str) -> None:
    """Name suffix, version form, listed messages and the descriptor set are checked."""
    with pytest.raises(Invalid) as exc:
        await _apply(control, document)
    assert any(e.path.endswith(f": {path}") for e in exc.value.errors), exc.value.errors
