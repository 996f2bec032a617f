"""Field paths: a dotted path through a message type, resolved once into read and write closures.

`address.postalCode` names the field `postal_code` of the sub-message `address`; a segment is a
field's proto name or its JSON name. A path may go through singular sub-messages only; its
last field may be of any kind. Reading gives None for an absent field: unset, or, for a field
without presence, its zero value (proto3 cannot tell the two apart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

Reader = Callable[[Message], Any]
Writer = Callable[[Message, Any], None]


class PathError(ValueError):
    """A path that does not name a usable field of the message type."""


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A resolved path: `text` in proto names, and closures bound to its fields."""

    text: str
    fields: tuple[FieldDescriptor, ...]
    read: Reader
    write: Writer
    parent: Reader  # the leaf's containing message, created (made present) on the way down

    @property
    def leaf(self) -> FieldDescriptor:
        return self.fields[-1]

    @property
    def repeated(self) -> bool:
        return self.leaf.is_repeated

    @property
    def is_message(self) -> bool:
        return self.leaf.type == FieldDescriptor.TYPE_MESSAGE

    @property
    def is_map(self) -> bool:
        leaf = self.leaf
        return leaf.message_type is not None and leaf.message_type.GetOptions().map_entry

    @property
    def plain(self) -> bool:
        """A singular scalar without presence: absent is its zero value, so reading is
        `getattr(...) or None` and writing skips zero (the fast paths in inline.py)."""
        leaf = self.leaf
        return not leaf.is_repeated and not leaf.has_presence and leaf.type != FieldDescriptor.TYPE_MESSAGE

    @property
    def up(self) -> Reader | None:
        """The leaf's containing message from the root (None at the top level)."""
        return None if len(self.fields) == 1 else self.parent

    def overlaps(self, other: FieldPath) -> bool:
        """One path is the other or lies inside it (both write the same data)."""
        a, b = self.fields, other.fields
        n = min(len(a), len(b))
        return a[:n] == b[:n]


def resolve(message: Descriptor, text: str) -> FieldPath:
    """The path `text` in `message`; PathError saying which segment does not fit."""
    if not text:
        raise PathError("a field path is required")
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for segment in text.split("."):
        if current is None:
            raise PathError(f"{'.'.join(f.name for f in fields)!r} is not a message, so it has no "
                            f"field {segment!r}")
        field = _field(current, segment)
        if field is None:
            raise PathError(f"{current.full_name} has no field {segment!r}")
        if fields and fields[-1].is_repeated:
            raise PathError(f"{fields[-1].name!r} is repeated; a path cannot go through it "
                            "(translate its elements with a nested rule)")
        fields.append(field)
        current = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
    dotted = ".".join(f.name for f in fields)
    return FieldPath(dotted, tuple(fields), _reader(fields), _writer(fields), _parent(fields))


def _field(message: Descriptor, segment: str) -> FieldDescriptor | None:
    field = message.fields_by_name.get(segment)
    if field is not None:
        return field
    return next((f for f in message.fields if f.json_name == segment), None)


def _parent(fields: list[FieldDescriptor]) -> Reader:
    if len(fields) == 1:
        return lambda m: m
    return attrgetter(".".join(f.name for f in fields[:-1]))


def _reader(fields: list[FieldDescriptor]) -> Reader:
    leaf = fields[-1]
    name = leaf.name
    if leaf.is_repeated:
        get = attrgetter(".".join(f.name for f in fields))
        return lambda m: get(m) or None
    if leaf.has_presence:
        if len(fields) == 1:
            return lambda m: getattr(m, name) if m.HasField(name) else None
        up = attrgetter(".".join(f.name for f in fields[:-1]))

        def read_present(m: Message) -> Any:
            p = up(m)
            return getattr(p, name) if p.HasField(name) else None

        return read_present
    if len(fields) == 1:
        return lambda m: getattr(m, name) or None
    get = attrgetter(".".join(f.name for f in fields))
    return lambda m: get(m) or None


def _writer(fields: list[FieldDescriptor]) -> Writer:
    """Sets a scalar or extends a repeated scalar; None (and, without presence, zero) is absent
    and writes nothing, so no empty sub-message is ever created. Messages are not written here
    (nested rules fill the sub-message `parent` gives them)."""
    leaf = fields[-1]
    name = leaf.name
    parent = _parent(fields)
    if leaf.is_repeated:
        def extend(m: Message, values: Any) -> None:
            if values:
                getattr(parent(m), name).extend(values)

        return extend
    if leaf.has_presence:
        def set_present(m: Message, value: Any) -> None:
            if value is not None:
                setattr(parent(m), name, value)

        return set_present
    if len(fields) == 1:
        def set_top(m: Message, value: Any) -> None:
            if value:
                setattr(m, name, value)

        return set_top

    def set_nested(m: Message, value: Any) -> None:
        if value:
            setattr(parent(m), name, value)

    return set_nested
