"""Field grants: data minimisation on a decoded response message.

A grant lists the response fields a caller may see, as proto3 JSON names joined by '.'
("familyName", "address.postalCode"). Every other field that is set is removed (cleared) or
masked: strings become "***", numbers 0, booleans false, enums their first (zero) value, bytes
empty, messages are masked field by field and every element of a repeated field is masked.
Map fields, google.protobuf.Any fields and extensions are cleared even under MASK (they cannot
be masked without leaking keys or type names). Unknown fields are always discarded: what the
grant cannot name, it does not grant.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Union

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from mesh.v1 import access_policy_pb2 as pb

MASKED_STRING = "***"
_ANY = "google.protobuf.Any"

# A granted subtree: field JSON name → its own subtree, or None for "the whole field".
Tree = Mapping[str, Union["Tree", None]]


class GrantMode(enum.Enum):
    """What happens to fields that are not granted."""

    REMOVE = "REMOVE"
    MASK = "MASK"


@dataclass(frozen=True, slots=True)
class FieldGrant:
    """The granted field paths of a response and what happens to the rest."""

    mode: GrantMode
    fields: tuple[str, ...]
    tree: Tree = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", _tree(self.fields))

    @classmethod
    def from_proto(cls, grant: pb.FieldGrant) -> FieldGrant:
        """The grant a FieldGrant message states; ValueError for an unspecified mode."""
        modes = {pb.FIELD_GRANT_MODE_REMOVE: GrantMode.REMOVE, pb.FIELD_GRANT_MODE_MASK: GrantMode.MASK}
        if grant.mode not in modes:
            raise ValueError("field grant mode is unspecified")
        return cls(modes[grant.mode], tuple(grant.fields))

    def to_proto(self) -> pb.FieldGrant:
        mode = pb.FIELD_GRANT_MODE_REMOVE if self.mode is GrantMode.REMOVE else pb.FIELD_GRANT_MODE_MASK
        return pb.FieldGrant(mode=mode, fields=list(self.fields))

    def summary(self) -> str:
        """One line for people: "REMOVE all but familyName, address.postalCode"."""
        return f"{self.mode.value} all but {', '.join(self.fields) or 'nothing'}"


def _tree(paths: tuple[str, ...]) -> Tree:
    """Nested dicts of the granted paths; a path inside a granted field adds nothing, and a
    path with an empty segment (the control plane refuses those) grants nothing."""
    root: dict[str, Any] = {}
    for path in paths:
        segments = path.split(".")
        if not all(segments):
            continue
        node: dict[str, Any] = root
        for segment in segments[:-1]:
            child = node.setdefault(segment, {})
            if child is None:
                break  # already granted whole
            node = child
        else:
            node[segments[-1]] = None
    return _freeze(root)


def _freeze(node: dict[str, Any]) -> Tree:
    return MappingProxyType({k: None if v is None else _freeze(v) for k, v in node.items()})


def apply_grant(message: Message, grant: FieldGrant) -> None:
    """Minimise `message` in place: keep what `grant` names, remove or mask the rest."""
    _apply(message, grant.tree, grant.mode)
    message.DiscardUnknownFields()


def _apply(message: Message, tree: Tree, mode: GrantMode) -> None:
    for fd, value in message.ListFields():
        if fd.is_extension:
            message.ClearExtension(fd)  # type: ignore[arg-type]
            continue
        if fd.json_name not in tree:
            _refuse(message, fd, value, mode)
            continue
        sub = tree[fd.json_name]
        if sub is None:
            continue  # granted whole
        if fd.message_type is None or _is_map(fd):
            # A path into a scalar or a map names nothing: the field is not granted.
            _refuse(message, fd, value, mode)
        elif fd.is_repeated:
            for element in value:
                _apply(element, sub, mode)
        else:
            _apply(value, sub, mode)


def _refuse(message: Message, fd: FieldDescriptor, value: Any, mode: GrantMode) -> None:
    """A field that is not granted: cleared, or masked in place."""
    if mode is GrantMode.REMOVE or _is_map(fd) or (fd.message_type is not None and fd.message_type.full_name == _ANY):
        message.ClearField(fd.name)
    elif fd.message_type is not None:
        for element in value if fd.is_repeated else (value,):
            _mask(element)
    elif fd.is_repeated:
        masked = _masked_scalar(fd)
        for i in range(len(value)):
            value[i] = masked
    else:
        setattr(message, fd.name, _masked_scalar(fd))


def _mask(message: Message) -> None:
    for fd, value in message.ListFields():
        if fd.is_extension:
            message.ClearExtension(fd)  # type: ignore[arg-type]
        else:
            _refuse(message, fd, value, GrantMode.MASK)


def _masked_scalar(fd: FieldDescriptor) -> Any:
    if fd.type == FieldDescriptor.TYPE_STRING:
        return MASKED_STRING
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return b""
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return False
    if fd.type == FieldDescriptor.TYPE_ENUM and fd.enum_type is not None:
        return fd.enum_type.values[0].number
    if fd.cpp_type in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        return 0.0
    return 0


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def resolve_path(descriptor: Descriptor, path: str) -> str | None:
    """None when `path` names a field of `descriptor` a grant can name; else what is wrong."""
    segments = path.split(".")
    current: Descriptor | None = descriptor
    for i, segment in enumerate(segments):
        if not segment:
            return "has an empty segment"
        if current is None:
            return f"{'.'.join(segments[:i])!r} is not a message, it has no fields"
        fd = next((f for f in current.fields if f.json_name == segment), None)
        if fd is None:
            hint = current.fields_by_name.get(segment)
            suffix = f" (JSON name: {hint.json_name!r})" if hint is not None and hint.json_name != segment else ""
            return f"{segment!r} is not a field of {current.full_name}{suffix}"
        if _is_map(fd) and i < len(segments) - 1:
            return f"{segment!r} is a map: it can only be granted whole"
        current = fd.message_type
    return None
