"""Field values across proto types: which scalar types convert to which, and how.

Strings, integers and enums convert through their text form (an enum by its value name), so
value functions, which take and give strings, can read and write all three. bool, float,
double and bytes copy only to their own type. Converters are built once per rule; None means
the identity. The text "" is an absent value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from google.protobuf.descriptor import FieldDescriptor as FD

from .errors import TranslationError

Category = Literal["string", "int", "enum", "bool", "float", "bytes", "message"]
Kind = Literal["iso", "lossy", "partial"]
Convert = Callable[[Any], Any]

TEXTUAL: frozenset[str] = frozenset({"string", "int", "enum"})
_RANK = {"iso": 0, "partial": 1, "lossy": 2}
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)")
_INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1), FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1), FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1), FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1), FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1), FD.TYPE_FIXED64: (0, 2**64 - 1),
}
_CATEGORIES: dict[int, Category] = {
    FD.TYPE_STRING: "string", FD.TYPE_ENUM: "enum", FD.TYPE_BOOL: "bool",
    FD.TYPE_FLOAT: "float", FD.TYPE_DOUBLE: "float", FD.TYPE_BYTES: "bytes",
    FD.TYPE_MESSAGE: "message", FD.TYPE_GROUP: "message",
    **{t: "int" for t in _INT_RANGES},
}
_TYPE_NAMES = {getattr(FD, n): n[5:].lower() for n in dir(FD) if n.startswith("TYPE_")}


class ConversionError(ValueError):
    """Two field types that no conversion joins."""


def worst(*kinds: Kind) -> Kind:
    """The weakest guarantee among `kinds`: lossy over partial over iso."""
    return max(kinds, key=_RANK.__getitem__, default="iso")


def category(field: FD) -> Category:
    return _CATEGORIES[field.type]


def type_name(field: FD) -> str:
    """`string`, `int32`, `enum demo.v1.Sex`, `message tsunagi.gif.v1.Address`, with `repeated`."""
    base = _TYPE_NAMES[field.type]
    if field.enum_type is not None:
        base = f"enum {field.enum_type.full_name}"
    elif field.message_type is not None:
        base = f"message {field.message_type.full_name}"
    return f"repeated {base}" if field.is_repeated else base


def to_text(field: FD) -> tuple[Convert | None, Kind]:
    """Field value → its text form; refused (ConversionError) for non-textual types."""
    kind = category(field)
    if kind == "string":
        return None, "iso"
    if kind == "int":
        return str, "iso"
    if kind == "enum":
        assert field.enum_type is not None
        names = {v.number: v.name for v in field.enum_type.values}
        enum_name = field.enum_type.full_name

        def enum_to_text(value: int) -> str:
            try:
                return names[value]
            except KeyError:
                raise TranslationError(f"number {value} has no name in enum {enum_name}",
                                       str(value)) from None

        return enum_to_text, "partial"
    raise ConversionError(f"a {type_name(field)} field has no text form for value functions")


def from_text(field: FD) -> tuple[Convert | None, Kind]:
    """Text → the field's value ("" → None, absent); refused for non-textual types."""
    kind = category(field)
    if kind == "string":
        return None, "iso"
    if kind == "int":
        low, high = _INT_RANGES[field.type]
        type_ = _TYPE_NAMES[field.type]

        def text_to_int(text: str) -> int | None:
            if not text:
                return None
            if not _DECIMAL.fullmatch(text):
                raise TranslationError(f"not a decimal integer for an {type_} field", text)
            value = int(text)
            if not low <= value <= high:
                raise TranslationError(f"out of range for an {type_} field", text)
            return value

        return text_to_int, "partial"
    if kind == "enum":
        assert field.enum_type is not None
        numbers = {v.name: v.number for v in field.enum_type.values}
        enum_name = field.enum_type.full_name

        def text_to_enum(text: str) -> int | None:
            if not text:
                return None
            try:
                return numbers[text]
            except KeyError:
                raise TranslationError(f"not a value name of enum {enum_name}", text) from None

        return text_to_enum, "partial"
    raise ConversionError(f"value functions cannot write a {type_name(field)} field")


def converter(source: FD, target: FD) -> tuple[Convert | None, Kind]:
    """A direct copy from `source` to `target` (both singular or both element types)."""
    s, t = category(source), category(target)
    if source.has_presence and not target.has_presence and t != "string" and not source.is_repeated:
        raise ConversionError(f"{source.name!r} has presence and {target.name!r} does not: a "
                              "zero value would come back unset")
    if "message" in (s, t):
        raise ConversionError(f"cannot copy {type_name(source)} to {type_name(target)}: "
                              "message fields need a nested rule")
    if s == t == "int":
        low, high = _INT_RANGES[target.type]
        if _INT_RANGES[source.type][0] >= low and _INT_RANGES[source.type][1] <= high:
            return None, "iso"
        type_ = _TYPE_NAMES[target.type]

        def narrow(value: int) -> int:
            if not low <= value <= high:
                raise TranslationError(f"out of range for an {type_} field", str(value))
            return value

        return narrow, "partial"
    if s == t and (s != "enum" or _enum_name(source) == _enum_name(target)):
        if s == "float" and source.type != target.type:
            raise ConversionError(f"cannot copy {type_name(source)} to {type_name(target)}")
        return None, "iso"
    if s in TEXTUAL and t in TEXTUAL and "string" in (s, t) or s == t == "enum":
        out, out_kind = to_text(source)
        into, into_kind = from_text(target)
        return _compose(out, into), worst(out_kind, into_kind)
    raise ConversionError(f"cannot convert {type_name(source)} to {type_name(target)}")


def _enum_name(field: FD) -> str:
    return field.enum_type.full_name if field.enum_type is not None else ""


def _compose(first: Convert | None, second: Convert | None) -> Convert | None:
    if first is None:
        return second
    if second is None:
        return first
    return lambda value: second(first(value))
