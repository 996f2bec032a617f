"""Validation of Schema resources: the spec itself, and compatibility with the stored version.

Within one Schema (one major version) a change must be compatible: no field number reused, no
field, message, enum value, service or method removed, renamed or retyped, reserved numbers
and names kept, no field newly required, and a higher version whenever the descriptors
change. Anything else needs a new major version: a new Schema named "...-v<MAJOR>".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, FileDescriptor
from google.protobuf.message import Message

from control_plane.errors import FieldError
from mesh.translate import gif
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.values import type_name
from mesh.v1 import schema_pb2

if TYPE_CHECKING:
    from control_plane.validate import World

_VERSION = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\Z")
_MAJOR_SUFFIX = re.compile(r"-v([1-9][0-9]{0,8})\Z")
_WELL_KNOWN = "google/protobuf/"
NEW_MAJOR = "needs a new major version (a new Schema)"


def validate_schema(message: Message, world: World) -> list[FieldError]:
    """Every problem of one Schema, including incompatibilities with its stored version."""
    schema: schema_pb2.Schema = message  # type: ignore[assignment]
    spec, errors = schema.spec, []
    version = _VERSION.match(spec.version)
    if not version:
        errors.append(FieldError("spec.version", "must be MAJOR.MINOR (\"1.2\")"))
    suffix = _MAJOR_SUFFIX.search(schema.metadata.name)
    if not suffix:
        errors.append(FieldError("metadata.name", "must end in -v<MAJOR> (\"gif-core-v1\"): a new "
                                 "major version is a new Schema"))
    elif version and version[1] != suffix[1]:
        errors.append(FieldError("spec.version", f"major version must be {suffix[1]}, as "
                                 "metadata.name says"))
    pool = None
    if not spec.descriptor_set:
        errors.append(FieldError("spec.descriptorSet", "required"))
    else:
        try:
            pool = pool_from_bytes(spec.descriptor_set)
        except DescriptorSetError as exc:
            errors.append(FieldError("spec.descriptorSet", str(exc)))
    if not spec.messages:
        errors.append(FieldError("spec.messages", "at least one message is required"))
    for field, names, find in (("messages", spec.messages, "FindMessageTypeByName"),
                               ("services", spec.services, "FindServiceByName")):
        for i, name in enumerate(names):
            if list(names).index(name) != i:
                errors.append(FieldError(f"spec.{field}[{i}]", f"duplicate {name!r}"))
            elif pool is not None:
                try:
                    getattr(pool, find)(name)
                except KeyError:
                    errors.append(FieldError(f"spec.{field}[{i}]", f"{name!r} is not defined in "
                                             "spec.descriptorSet"))
    previous = world.previous.get(("Schema", "", schema.metadata.name))
    if previous is not None and pool is not None and not errors:
        errors += compatibility(previous.spec, spec, pool)  # type: ignore[attr-defined]
    return errors


def compatibility(old: schema_pb2.SchemaSpec, new: schema_pb2.SchemaSpec,
                  new_pool: descriptor_pool.DescriptorPool) -> list[FieldError]:
    """Why `new` is not a compatible change of `old` (empty when it is)."""
    try:
        old_pool = pool_from_bytes(old.descriptor_set)
    except DescriptorSetError:
        return []  # the stored version is unreadable: nothing to be compatible with
    errors: list[FieldError] = []
    before, after = _version(old.version), _version(new.version)
    if before and after:
        if after < before:
            errors.append(FieldError("spec.version", f"must not go down from {old.version}"))
        elif after == before and _files(old.descriptor_set) != _files(new.descriptor_set):
            errors.append(FieldError("spec.version", f"must go up from {old.version}, because "
                                     "spec.descriptorSet changed"))
    for field in ("messages", "services"):
        for name in getattr(old, field):
            if name not in getattr(new, field):
                errors.append(FieldError(f"spec.{field}", f"{name!r} was listed in version "
                                         f"{old.version}: removing it {NEW_MAJOR}"))
    where = "spec.descriptorSet"
    old_files = _file_descriptors(old_pool, old.descriptor_set)
    for message in _messages(old_files):
        try:
            errors += _message(message, new_pool.FindMessageTypeByName(message.full_name), where)
        except KeyError:
            errors.append(FieldError(where, f"message {message.full_name} removed: {NEW_MAJOR}"))
    for enum in _enums(old_files):
        try:
            errors += _enum(enum, new_pool.FindEnumTypeByName(enum.full_name), where)
        except KeyError:
            errors.append(FieldError(where, f"enum {enum.full_name} removed: {NEW_MAJOR}"))
    for service in (s for f in old_files for s in f.services_by_name.values()):
        try:
            replacement = new_pool.FindServiceByName(service.full_name)
        except KeyError:
            errors.append(FieldError(where, f"service {service.full_name} removed: {NEW_MAJOR}"))
            continue
        for method in service.methods:
            now = replacement.methods_by_name.get(method.name)
            shape = (method.input_type.full_name, method.output_type.full_name,
                     method.client_streaming, method.server_streaming)
            if now is None:
                errors.append(FieldError(where, f"method {method.full_name} removed: {NEW_MAJOR}"))
            elif shape != (now.input_type.full_name, now.output_type.full_name,
                           now.client_streaming, now.server_streaming):
                errors.append(FieldError(where, f"method {method.full_name} changed its messages or "
                                         f"streaming: {NEW_MAJOR}"))
    return errors


def _message(old: Descriptor, new: Descriptor, where: str) -> list[FieldError]:
    errors = []
    name = old.full_name
    for field in old.fields:
        now = new.fields_by_number.get(field.number)
        label = f"field {name}.{field.name} (= {field.number})"
        if now is None:
            errors.append(FieldError(where, f"{label} removed: {NEW_MAJOR}"))
            continue
        if now.name != field.name:
            errors.append(FieldError(where, f"{label} renamed to {now.name!r}: {NEW_MAJOR}"))
        if (type_name(now), now.has_presence) != (type_name(field), field.has_presence):
            errors.append(FieldError(where, f"{label} retyped from {type_name(field)} to "
                                     f"{type_name(now)}: {NEW_MAJOR}"))
        if _required(now) and not _required(field):
            errors.append(FieldError(where, f"{label} became required: {NEW_MAJOR}"))
    old_proto, new_proto = descriptor_pb2.DescriptorProto(), descriptor_pb2.DescriptorProto()
    old.CopyToProto(old_proto)
    new.CopyToProto(new_proto)
    old_numbers = {f.number for f in old.fields}
    for field in new.fields:
        if field.number in old_numbers:
            continue
        label = f"new field {name}.{field.name} (= {field.number})"
        if any(r.start <= field.number < r.end for r in old_proto.reserved_range):
            errors.append(FieldError(where, f"{label} reuses a reserved number: a field number "
                                     "is never reused"))
        if field.name in old_proto.reserved_name:
            errors.append(FieldError(where, f"{label} reuses a reserved name"))
        if _required(field):
            errors.append(FieldError(where, f"{label} is required: {NEW_MAJOR}"))
    for r in old_proto.reserved_range:
        if not any(n.start <= r.start and r.end <= n.end for n in new_proto.reserved_range):
            errors.append(FieldError(where, f"{name}: reserved numbers {r.start}..{r.end - 1} must "
                                     "stay reserved"))
    for reserved in old_proto.reserved_name:
        if reserved not in new_proto.reserved_name:
            errors.append(FieldError(where, f"{name}: reserved name {reserved!r} must stay reserved"))
    return errors


def _enum(old: EnumDescriptor, new: EnumDescriptor, where: str) -> list[FieldError]:
    errors = []
    for value in old.values:
        now = new.values_by_number.get(value.number)
        if now is None or now.name != value.name:
            errors.append(FieldError(where, f"enum value {old.full_name}.{value.name} "
                                     f"(= {value.number}) removed or renamed: {NEW_MAJOR}"))
    return errors


def _required(field: FieldDescriptor) -> bool:
    return gif.is_required(field)


def _version(text: str) -> tuple[int, int] | None:
    match = _VERSION.match(text)
    return (int(match[1]), int(match[2])) if match else None


def _files(data: bytes) -> dict[str, bytes]:
    files = descriptor_pb2.FileDescriptorSet.FromString(data)
    return {f.name: f.SerializeToString(deterministic=True) for f in files.file}


def _file_descriptors(pool: descriptor_pool.DescriptorPool, data: bytes) -> list[FileDescriptor]:
    """The files of the set `data` in `pool`, well-known types left out (they never change)."""
    names = [f.name for f in descriptor_pb2.FileDescriptorSet.FromString(data).file]
    return [pool.FindFileByName(n) for n in names if not n.startswith(_WELL_KNOWN)]


def _messages(files: list[FileDescriptor]) -> Iterator[Descriptor]:
    for file in files:
        stack = list(file.message_types_by_name.values())
        while stack:
            message = stack.pop()
            if not message.GetOptions().map_entry:
                yield message
            stack.extend(message.nested_types)


def _enums(files: list[FileDescriptor]) -> Iterator[EnumDescriptor]:
    for file in files:
        yield from file.enum_types_by_name.values()
    for message in _messages(files):
        yield from message.enum_types
