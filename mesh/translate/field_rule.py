"""FieldRule: values moved from local fields to canonical fields (and back), in five shapes.

  scalar     singular fields, one → one (copy, rename, move, nest, unnest) or through
             functions, any number → any number (a split_name, a join_name);
  each       a repeated field ↔ a repeated field, element by element;
  split/join one string ↔ a repeated field or several fields, at `separator`;
  spread     a repeated field ↔ several singular fields, element i ↔ field i.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor

from mesh.v1 import mapping_pb2

from . import inline
from .chain import compile_chain
from .errors import Problem, TranslationError
from .kept import ExchangeKept
from .parts import gather_shape, separator_shape, spread_shape
from .paths import FieldPath, PathError, resolve
from .rule import TO_CANONICAL, TO_LOCAL, Apply, CompiledRule, blame
from .values import Convert, ConversionError, Kind, category, converter, from_text, to_text, worst

Message = Any  # a upb message; typed loosely to keep the closures lean


def compile_field_rule(rule: mapping_pb2.FieldRule, path: str, local: Descriptor,
                       canonical: Descriptor) -> CompiledRule | list[Problem]:
    """The compiled rule, or every problem with its field path."""
    problems: list[Problem] = []
    sources = resolve_all(local, rule.local, f"{path}.local", problems)
    targets = resolve_all(canonical, rule.canonical, f"{path}.canonical", problems)
    if problems:
        return problems
    for side, paths in (("local", sources), ("canonical", targets)):
        for i, p in enumerate(paths):
            if p.is_message:
                problems.append(Problem(f"{path}.{side}[{i}]", f"type mismatch: {p.text!r} is a "
                                        "message field: translate it with a nested rule, or drop it"))
    if problems:
        return problems
    calls = [(f.name, json_format.MessageToDict(f.params)) for f in rule.functions]
    repeated = [p.repeated for p in (*sources, *targets)]
    try:
        if rule.separator:
            if calls:
                return [Problem(f"{path}.functions", "a rule with a separator takes no functions")]
            built = separator_shape(sources, targets, rule.separator, path)
        elif any(repeated):
            built = _repeated_shape(sources, targets, calls, path)
        else:
            built = _scalar_shape(sources, targets, calls, path)
    except ConversionError as exc:
        return [Problem(path, f"type mismatch: {exc}")]
    if isinstance(built, list):
        return built
    forward, reverse, kind = built
    return CompiledRule(path, kind, forward, reverse, tuple(sources), tuple(targets),
                        frozenset(t.text for t in targets))


def resolve_all(message: Descriptor, texts: Sequence[str], where: str,
                problems: list[Problem]) -> list[FieldPath]:
    if not texts:
        problems.append(Problem(where, "at least one field path is required"))
    resolved = []
    for i, text in enumerate(texts):
        try:
            resolved.append(resolve(message, text))
        except PathError as exc:
            problems.append(Problem(f"{where}[{i}]", str(exc)))
    return resolved


Built = tuple[Apply, Apply, Kind] | list[Problem]


def _scalar_shape(sources: list[FieldPath], targets: list[FieldPath],
                  calls: list[tuple[str, dict[str, Any]]], path: str) -> Built:
    keys = (TO_CANONICAL + path, TO_LOCAL + path)
    if not calls:
        if len(sources) != 1 or len(targets) != 1:
            return [Problem(path, f"{len(sources)} local and {len(targets)} canonical fields "
                                  "need a function or a separator to split or join them")]
        (s,), (t,) = sources, targets
        there, k1 = converter(s.leaf, t.leaf)
        back, k2 = converter(t.leaf, s.leaf)
        kind = worst(k1, k2)
        keep = kind != "iso"
        return _copy(s, t, there, keep, *keys), _copy(t, s, back, keep, *keys[::-1]), kind
    chain = compile_chain(calls, len(sources), len(targets), path)
    if isinstance(chain, list):
        return chain
    pre_f, kinds = _texts(sources, to_text)
    post_f, more = _texts(targets, from_text)
    pre_r, _ = _texts(targets, to_text)
    post_r, _ = _texts(sources, from_text)
    kind = worst(chain.kind, *kinds, *more)
    keep = kind != "iso"
    simple_f, simple_r = chain.simple(backward=False), chain.simple(backward=True)
    if simple_f is not None and simple_r is not None:
        (s,), (t,) = sources, targets
        forward = _copy(s, t, _compose(pre_f[0], simple_f, post_f[0]), keep, *keys)
        reverse = _copy(t, s, _compose(pre_r[0], simple_r, post_r[0]), keep, *keys[::-1])
        return forward, reverse, kind
    forward = _through(sources, targets, pre_f, post_f, chain.function(False), keep, *keys)
    reverse = _through(targets, sources, pre_r, post_r, chain.function(True), keep, *keys[::-1])
    return forward, reverse, kind


def _texts(paths: list[FieldPath], how: Callable[..., tuple[Convert | None, Kind]]
           ) -> tuple[list[Convert | None], list[Kind]]:
    converts, kinds = [], []
    for p in paths:
        try:
            convert, kind = how(p.leaf)
        except ConversionError as exc:
            raise ConversionError(f"{p.text!r}: {exc}") from None
        if convert is None and p.leaf.has_presence and category(p.leaf) == "string":
            convert = _absent_if_empty
        converts.append(convert)
        kinds.append(kind)
    return converts, kinds


def _absent_if_empty(text: str) -> str | None:
    return text or None


def _compose(*functions: Convert | None) -> Convert | None:
    present = [f for f in functions if f is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    if len(present) == 2:
        first, second = present
        return lambda value: second(first(value))

    def composed(value: Any) -> Any:
        for f in present:
            value = f(value)
        return value

    return composed


def _copy(source: FieldPath, target: FieldPath, convert: Convert | None, keep: bool,
          key_out: str, key_in: str) -> Apply:
    """One value, converted. When the rule is not iso, the original is kept for the exchange
    and written back when the opposite direction meets the value it was translated to."""
    if source.plain and target.plain and (convert is not None or not keep):
        return inline.copy(source, target, convert, keep, key_out, key_in)
    read, write, where = source.read, target.write, source.text
    if convert is None:
        def copy(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
            value = read(src)
            if value is not None:
                write(dst, value)

        return copy
    if not keep:
        def convert_copy(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
            value = read(src)
            if value is not None:
                try:
                    value = convert(value)
                except TranslationError as exc:
                    raise exc.at(where) from None
                write(dst, value)

        return convert_copy

    def keeping_copy(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read(src)
        if value is None:
            return
        entry = kept.get((key_in, loc))
        if entry is not None and entry[0] == value:
            write(dst, entry[1])
            return
        try:
            result = convert(value)
        except TranslationError as exc:
            raise exc.at(where) from None
        kept[(key_out, loc)] = (result, value)
        write(dst, result)

    return keeping_copy


def _through(sources: list[FieldPath], targets: list[FieldPath], pres: list[Convert | None],
             posts: list[Convert | None], function: Callable[..., Any], keep: bool, key_out: str,
             key_in: str) -> Apply:
    """Several values through a chain (a split or a join), keeping the originals when the
    rule is not iso. Kept entries are (values written, values read) tuples."""
    names = [s.text for s in sources]
    readers = [s.read for s in sources]
    writers = [t.write for t in targets]
    several = len(targets) > 1
    if len(sources) == 1 and pres[0] is None and not any(posts):
        if sources[0].plain and all(t.plain for t in targets):
            return inline.split(sources[0], targets, function, several, keep, key_out, key_in)
        return _split_through(readers[0], writers, names[0], function, several, keep, key_out, key_in)

    def apply(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        values = tuple([read(src) for read in readers])
        if values.count(None) == len(values):
            return
        entry = kept.get((key_in, loc)) if keep else None
        if entry is not None and entry[0] == values:
            results = entry[1]
        else:
            try:
                texts = ["" if v is None else (p(v) if p else v) for v, p in zip(values, pres)]
                outs = function(*texts)
                results = tuple([p(o) if p else o for o, p in zip(outs if several else (outs,), posts)])
            except TranslationError as exc:
                raise blame(names, ["" if v is None else v for v in values], exc) from None
            if keep:
                kept[(key_out, loc)] = (results, values)
        for write, result in zip(writers, results):
            write(dst, result)

    return apply


def _split_through(read: Callable[[Message], Any], writers: list[Callable[[Message, Any], None]],
                   name: str, function: Callable[..., Any], several: bool, keep: bool,
                   key_out: str, key_in: str) -> Apply:
    """The common case of _through: one string field in, string fields out."""

    def split(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read(src)
        if value is None:
            return
        values = (value,)
        entry = kept.get((key_in, loc)) if keep else None
        if entry is not None and entry[0] == values:
            results = entry[1]
        else:
            try:
                results = function(value) if several else (function(value),)
            except TranslationError as exc:
                raise exc.at(name) from None
            if keep:
                kept[(key_out, loc)] = (results, values)
        for write, result in zip(writers, results):
            write(dst, result)

    return split


def _repeated_shape(sources: list[FieldPath], targets: list[FieldPath],
                    calls: list[tuple[str, dict[str, Any]]], path: str) -> Built:
    if len(sources) == 1 and len(targets) == 1 and sources[0].repeated and targets[0].repeated:
        (s,), (t,) = sources, targets
        keys = (TO_CANONICAL + path, TO_LOCAL + path)
        if s.is_map or t.is_map:
            return [Problem(path, "map fields can only be dropped")]
        if not calls:
            there, k1 = converter(s.leaf, t.leaf)
            back, k2 = converter(t.leaf, s.leaf)
            kind = worst(k1, k2)
            keep = kind != "iso"
            return _each(s, t, there, keep, *keys), _each(t, s, back, keep, *keys[::-1]), kind
        chain = compile_chain(calls, 1, 1, path)
        if isinstance(chain, list):
            return chain
        pre_f, k1s = _texts(sources, to_text)
        post_f, k2s = _texts(targets, from_text)
        pre_r, _ = _texts(targets, to_text)
        post_r, _ = _texts(sources, from_text)
        kind = worst(chain.kind, *k1s, *k2s)
        keep = kind != "iso"
        forward = _each(s, t, _compose(pre_f[0], chain.simple(False), post_f[0]), keep, *keys)
        reverse = _each(t, s, _compose(pre_r[0], chain.simple(True), post_r[0]), keep,
                        *keys[::-1])
        return forward, reverse, kind
    if calls:
        return [Problem(path, "functions apply to singular fields, or element by element "
                              "between two repeated fields")]
    if len(sources) == 1 and sources[0].repeated and not any(t.repeated for t in targets):
        return spread_shape(sources[0], targets)
    if len(targets) == 1 and targets[0].repeated and not any(s.repeated for s in sources):
        return gather_shape(sources, targets[0])
    return [Problem(path, "a repeated field maps to one repeated field, to several singular "
                          "fields, or (with a separator) to one string field")]


def _each(source: FieldPath, target: FieldPath, convert: Convert | None, keep: bool,
          key_out: str, key_in: str) -> Apply:
    read, write, where = source.read, target.write, source.text

    def each(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        values = read(src)
        if values is None:
            return
        if convert is None:
            write(dst, values)
            return
        values = list(values)
        entry = kept.get((key_in, loc)) if keep else None
        if entry is not None and entry[0] == values:
            write(dst, entry[1])
            return
        out = []
        for i, value in enumerate(values):
            try:
                result = convert(value)
            except TranslationError as exc:
                raise exc.at(f"{where}[{i}]") from None
            if result is None:
                raise TranslationError("an element of a repeated field cannot be empty",
                                       str(value), f"{where}[{i}]")
            out.append(result)
        if keep:
            kept[(key_out, loc)] = (out, values)
        write(dst, out)

    return each
