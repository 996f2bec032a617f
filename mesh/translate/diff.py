"""Message differences: where two messages of one type disagree, by JSON field path.

An empty sub-message counts as absent, as it does on the wire's round trip of a mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


@dataclass(frozen=True, slots=True)
class Difference:
    """At `path` ("address.postalCode", "members[1].name"), `expected` but `got`."""

    path: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected!r}, got {self.got!r}"


def differences(expected: Message, got: Message, prefix: str = "") -> list[Difference]:
    """Every field where `got` differs from `expected` (messages of the same type)."""
    out: list[Difference] = []
    for field in expected.DESCRIPTOR.fields:
        path = f"{prefix}{field.json_name}"
        mine, theirs = getattr(expected, field.name), getattr(got, field.name)
        is_message = field.type == FieldDescriptor.TYPE_MESSAGE
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out += _maps(field.message_type, mine, theirs, path)
        elif field.is_repeated:
            if is_message:
                if len(mine) != len(theirs):
                    out.append(Difference(path, f"{len(mine)} elements", f"{len(theirs)} elements"))
                    continue
                for i, (a, b) in enumerate(zip(mine, theirs)):
                    out += differences(a, b, f"{path}[{i}].")
            elif list(mine) != list(theirs):
                out.append(Difference(path, list(mine), list(theirs)))
        elif is_message:
            if mine.ByteSize() or theirs.ByteSize():
                out += differences(mine, theirs, f"{path}.")
        elif field.has_presence and expected.HasField(field.name) != got.HasField(field.name):
            out.append(Difference(path, mine if expected.HasField(field.name) else None,
                                  theirs if got.HasField(field.name) else None))
        elif mine != theirs:
            out.append(Difference(path, mine, theirs))
    return out


def _maps(entry: Any, mine: Any, theirs: Any, path: str) -> list[Difference]:
    value_is_message = entry.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE
    out: list[Difference] = []
    for key in sorted(set(mine) | set(theirs), key=str):
        where = f"{path}[{key!r}]"
        if key not in mine or key not in theirs:
            out.append(Difference(where, mine.get(key), theirs.get(key)))
        elif value_is_message:
            out += differences(mine[key], theirs[key], f"{where}.")
        elif mine[key] != theirs[key]:
            out.append(Difference(where, mine[key], theirs[key]))
    return out
