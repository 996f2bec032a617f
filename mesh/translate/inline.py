"""Inlined field access: the common rule shapes specialised for plain fields (singular scalars
without presence), reading and writing with getattr/setattr in the rule's own closure.

The generic closures in field_rule.py call a reader and a writer per value; here those calls
are gone, which is most of the engine's own cost per rule. Behaviour is identical: an absent
(zero) source writes nothing, and a zero result writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from .errors import TranslationError
from .kept import ExchangeKept
from .paths import FieldPath
from .rule import Apply
from .values import Convert

Message = Any


def copy(source: FieldPath, target: FieldPath, convert: Convert | None, keep: bool,
         key_out: str, key_in: str) -> Apply:
    """One plain field to one plain field, converted, keeping the original when asked."""
    get, to, up, where = attrgetter(source.text), target.leaf.name, target.up, source.text
    if not keep:
        if up is None:
            def top(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
                value = get(src)
                if value:
                    if convert is not None:
                        try:
                            value = convert(value)
                        except TranslationError as exc:
                            raise exc.at(where) from None
                    if value:
                        setattr(dst, to, value)

            return top

        def nested(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
            value = get(src)
            if value:
                if convert is not None:
                    try:
                        value = convert(value)
                    except TranslationError as exc:
                        raise exc.at(where) from None
                if value:
                    setattr(up(dst), to, value)

        return nested
    assert convert is not None

    def keeping(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = get(src)
        if not value:
            return
        entry = kept.get((key_in, loc))
        if entry is not None and entry[0] == value:
            result = entry[1]
        else:
            try:
                result = convert(value)
            except TranslationError as exc:
                raise exc.at(where) from None
            kept[(key_out, loc)] = (result, value)
        if result:
            setattr(dst if up is None else up(dst), to, result)

    return keeping


def split(source: FieldPath, targets: list[FieldPath], function: Callable[..., Any], several: bool,
          keep: bool, key_out: str, key_in: str) -> Apply:
    """One plain string field through a chain into plain string fields (split_name)."""
    get, where = attrgetter(source.text), source.text
    sinks = [(t.up, t.leaf.name) for t in targets]

    def apply(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = get(src)
        if not value:
            return
        entry = kept.get((key_in, loc)) if keep else None
        if entry is not None and entry[0] == (value,):
            results = entry[1]
        else:
            try:
                results = function(value) if several else (function(value),)
            except TranslationError as exc:
                raise exc.at(where) from None
            if keep:
                kept[(key_out, loc)] = (results, (value,))
        for (up, to), result in zip(sinks, results):
            if result:
                setattr(dst if up is None else up(dst), to, result)

    return apply
