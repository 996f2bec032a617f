"""Validation of Mapping resources: compiled against both schemas, examples run both ways.

A Mapping is refused, each problem with its field path, when: its System or Schema does not
exist; it does not compile (a type mismatch, a function without an inverse, two rules writing
one field, a local field neither mapped nor dropped, a cycle of nested mappings, an
operation whose methods or messages do not fit); a message mapping targets a message the
Schema does not offer, or never produces a field the Schema marks required; an example does
not translate as written in either direction; or another Mapping of the same System already
maps one of its local methods.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from control_plane.errors import FieldError
from mesh.resources import kind_of
from mesh.translate import gif
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.engine import CompiledMapping, compile_mapping
from mesh.translate.errors import MappingInvalid
from mesh.translate.examples import check_examples
from mesh.v1 import mapping_pb2

if TYPE_CHECKING:
    from control_plane.validate import World

_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


def validate_mapping(message: Message, world: World) -> list[FieldError]:
    """Every problem of one Mapping."""
    mapping: mapping_pb2.Mapping = message  # type: ignore[assignment]
    spec, org = mapping.spec, mapping.metadata.org
    errors = check_mapping_references(mapping, world)
    if not _SEMVER.match(spec.version):
        errors.append(FieldError("spec.version", "must be MAJOR.MINOR.PATCH (\"1.0.0\")"))
    for i, m in enumerate(spec.messages):
        if m.name and not _NAME.match(m.name):
            errors.append(FieldError(f"spec.messages[{i}].name", "must be lower-case letters, "
                                     "digits and '-', at most 63 characters"))
    if not spec.local_descriptor_set:
        errors.append(FieldError("spec.localDescriptorSet", "required"))
    schema = world.get("Schema", "", spec.schema) if spec.schema else None
    if schema is None or not spec.local_descriptor_set:
        return errors
    try:
        canonical_pool = pool_from_bytes(schema.spec.descriptor_set)  # type: ignore[attr-defined]
    except DescriptorSetError as exc:
        return errors + [FieldError("spec.schema", f"Schema {spec.schema!r}: {exc}")]
    try:
        compiled = compile_mapping(mapping, None, canonical_pool)
    except MappingInvalid as exc:
        return errors + [FieldError(p.path, p.message) for p in exc.problems]
    errors += _schema_offers(compiled, mapping, schema.spec, canonical_pool)  # type: ignore[attr-defined]
    errors += _required(compiled)
    errors += [FieldError(p.path, p.message) for p in check_examples(compiled, spec.examples)]
    errors += _unique_methods(mapping, world, org)
    return errors


def check_mapping_references(message: Message, world: World) -> list[FieldError]:
    """The Mapping's System and Schema exist (cheap; run for Mappings an apply did not touch)."""
    if kind_of(message).name != "Mapping":
        return []
    meta, spec = message.metadata, message.spec  # type: ignore[attr-defined]
    errors = []
    if not spec.system:
        errors.append(FieldError("spec.system", "required"))
    elif world.get("System", meta.org, spec.system) is None:
        errors.append(FieldError("spec.system", f"system {spec.system!r} does not exist in org {meta.org}"))
    if not spec.schema:
        errors.append(FieldError("spec.schema", "required"))
    elif world.get("Schema", "", spec.schema) is None:
        errors.append(FieldError("spec.schema", f"Schema {spec.schema!r} does not exist"))
    return errors


def _schema_offers(compiled: CompiledMapping, mapping: mapping_pb2.Mapping, schema: object,
                   pool: descriptor_pool.DescriptorPool) -> list[FieldError]:
    """Message mappings target the Schema's messages (or messages they use); operations are
    methods of the Schema's services."""
    offered = _reachable(pool, list(schema.messages))  # type: ignore[attr-defined]
    errors = []
    for i, m in enumerate(mapping.spec.messages):
        if m.name in compiled.messages and m.canonical not in offered:
            errors.append(FieldError(f"spec.messages[{i}].canonical", f"{m.canonical!r} is not one "
                                     f"of Schema {mapping.spec.schema!r}'s messages"))
    services = set(schema.services)  # type: ignore[attr-defined]
    for i, op in enumerate(mapping.spec.operations):
        if op.canonical.split("/")[1:2] and op.canonical.split("/")[1] not in services:
            errors.append(FieldError(f"spec.operations[{i}].canonical", f"{op.canonical!r} is not an "
                                     f"operation of Schema {mapping.spec.schema!r}'s services"))
    return errors


def _reachable(pool: descriptor_pool.DescriptorPool, names: list[str]) -> set[str]:
    seen: set[str] = set()
    stack: list[Descriptor] = []
    for name in names:
        try:
            stack.append(pool.FindMessageTypeByName(name))
        except KeyError:
            continue
    while stack:  # bounded: each message type is visited once
        message = stack.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        stack.extend(f.message_type for f in message.fields if f.message_type is not None)
    return seen


def _required(compiled: CompiledMapping) -> list[FieldError]:
    """Required canonical fields that a message mapping never writes: in its message, and in
    each sub-message it writes field by field."""
    errors = []
    for message in compiled.messages.values():
        produced = message.produced
        for missing in _unproduced(message.canonical_type, produced, ""):
            errors.append(FieldError(f"{message.path}.rules", f"required canonical field "
                                     f"{missing!r} of {message.canonical_type.full_name} is not "
                                     "produced by any rule"))
    return errors


def _unproduced(message: Descriptor, produced: frozenset[str], prefix: str) -> list[str]:
    missing = []
    for field in message.fields:
        path = prefix + field.name
        if gif.is_required(field) and path not in produced:
            missing.append(path)
        elif (field.message_type is not None and not field.is_repeated and path not in produced
              and any(p.startswith(path + ".") for p in produced)):
            missing += _unproduced(field.message_type, produced, path + ".")
    return missing


def _unique_methods(mapping: mapping_pb2.Mapping, world: World, org: str) -> list[FieldError]:
    errors = []
    for other in world.owned_by("Mapping", org, mapping.spec.system):
        o = other.metadata  # type: ignore[attr-defined]
        if other is mapping or o.name == mapping.metadata.name:
            continue
        theirs = {op.local for op in other.spec.operations}  # type: ignore[attr-defined]
        for i, op in enumerate(mapping.spec.operations):
            if op.local in theirs:
                errors.append(FieldError(f"spec.operations[{i}].local", f"{op.local!r} is already "
                                         f"mapped by Mapping {o.org}/{o.name}"))
    return errors
