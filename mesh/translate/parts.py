"""Parts: one string split at a separator into a list or several fields (and joined back), and
a list spread over several fields (and gathered back). Each refuses what would not round-trip:
empty parts, parts containing the separator, more elements than fields, gaps."""

from __future__ import annotations

from typing import Any

from .errors import Problem, TranslationError
from .kept import ExchangeKept
from .paths import FieldPath
from .rule import Apply
from .values import Convert, Kind, category, converter, from_text, to_text

Message = Any
Built = tuple[Apply, Apply, Kind] | list[Problem]


def spread_shape(source: FieldPath, targets: list[FieldPath]) -> tuple[Apply, Apply, Kind]:
    """A repeated local field ↔ several canonical fields, element i ↔ field i."""
    return _spread(source, targets), _gather(targets, source), "partial"


def gather_shape(sources: list[FieldPath], target: FieldPath) -> tuple[Apply, Apply, Kind]:
    """Several local fields ↔ a repeated canonical field, field i ↔ element i."""
    return _gather(sources, target), _spread(target, sources), "partial"


def _spread(source: FieldPath, targets: list[FieldPath]) -> Apply:
    """A list into fields: element i → field i. More elements than fields, or an element that
    would read back as absent, is refused."""
    read, where, n = source.read, source.text, len(targets)
    converts = [converter(source.leaf, t.leaf)[0] for t in targets]
    sinks = [(t.write, t.leaf.has_presence, c) for t, c in zip(targets, converts)]

    def spread(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        values = read(src)
        if values is None:
            return
        if len(values) > n:
            raise TranslationError(f"has more than the {n} elements it maps to fields",
                                   str(len(values)), where)
        results = []
        for i, (value, (_, presence, convert)) in enumerate(zip(values, sinks)):
            try:
                result = convert(value) if convert else value
            except TranslationError as exc:
                raise exc.at(f"{where}[{i}]") from None
            if result is None or not (result or presence):
                raise TranslationError("an empty element would be lost", str(value),
                                       f"{where}[{i}]")
            results.append(result)
        for (write, _, _), result in zip(sinks, results):
            write(dst, result)

    return spread


def _gather(sources: list[FieldPath], target: FieldPath) -> Apply:
    """Fields into a list: field i → element i, up to the last present field; no gaps."""
    readers = [(s.read, s.text, converter(s.leaf, target.leaf)[0]) for s in sources]
    write = target.write

    def gather(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        values = [read(src) for read, _, _ in readers]
        while values and values[-1] is None:
            values.pop()
        if not values:
            return
        out = []
        for value, (_, where, convert) in zip(values, readers):
            if value is None:
                raise TranslationError("is absent but a later field is present, and a list "
                                       "cannot have a gap", "", where)
            try:
                out.append(convert(value) if convert else value)
            except TranslationError as exc:
                raise exc.at(where) from None
        write(dst, out)

    return gather


def separator_shape(sources: list[FieldPath], targets: list[FieldPath], sep: str,
                     path: str) -> Built:
    if len(sources) == 1 and not sources[0].repeated and (len(targets) > 1 or targets[0].repeated):
        joined, parts, split_forward = sources[0], targets, True
    elif len(targets) == 1 and not targets[0].repeated and (len(sources) > 1 or sources[0].repeated):
        joined, parts, split_forward = targets[0], sources, False
    else:
        return [Problem(path, "a separator splits one string field into a repeated field or "
                              "several fields, or joins them into one")]
    if category(joined.leaf) != "string":
        return [Problem(path, f"type mismatch: {joined.text!r} must be a string to be split or "
                              "joined")]
    if len(parts) > 1 and any(p.repeated for p in parts):
        return [Problem(path, "the parts are one repeated field or several singular fields")]
    if parts[0].is_map:
        return [Problem(path, "map fields can only be dropped")]
    split, join = _split(joined, parts, sep), _join(parts, joined, sep)
    return (split, join, "partial") if split_forward else (join, split, "partial")


def _split(joined: FieldPath, parts: list[FieldPath], sep: str) -> Apply:
    read, where = joined.read, joined.text
    listed = parts[0].repeated
    n = len(parts)
    into = [from_text(p.leaf)[0] for p in parts]
    writers = [p.write for p in parts]

    def split(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        text = read(src)
        if text is None:
            return
        pieces = text.split(sep)
        if "" in pieces:
            raise TranslationError(f"has an empty part around a {sep!r} separator", text, where)
        if not listed and len(pieces) != n:
            raise TranslationError(f"must have exactly {n} parts separated by {sep!r}", text, where)
        try:
            if listed:
                convert = into[0]
                writers[0](dst, [convert(p) if convert else p for p in pieces])
                return
            values = [convert(p) if convert else p for p, convert in zip(pieces, into)]
        except TranslationError as exc:
            raise exc.at(where) from None
        for write, value in zip(writers, values):
            write(dst, value)

    return split


def _join(parts: list[FieldPath], joined: FieldPath, sep: str) -> Apply:
    listed = parts[0].repeated
    sources = [(p.read, p.text, to_text(p.leaf)[0]) for p in parts]
    write = joined.write

    def texts_of(src: Message) -> list[tuple[str, str]] | None:
        if listed:
            read, where, convert = sources[0]
            values = read(src)
            if values is None:
                return None
            return [(_text(convert, v, f"{where}[{i}]"), f"{where}[{i}]")
                    for i, v in enumerate(values)]
        values = [read(src) for read, _, _ in sources]
        if all(v is None for v in values):
            return None
        out = []
        for value, (_, where, convert) in zip(values, sources):
            if value is None:
                raise TranslationError(f"is absent, but the other parts joined at {sep!r} are "
                                       "present", "", where)
            out.append((_text(convert, value, where), where))
        return out

    def join(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        texts = texts_of(src)
        if texts is None:
            return
        for text, where in texts:
            if not text or sep in text:
                raise TranslationError(f"a part joined at {sep!r} must be non-empty and must not "
                                       "contain it", text, where)
        write(dst, sep.join(t for t, _ in texts))

    return join


def _text(convert: Convert | None, value: Any, where: str) -> str:
    if convert is None:
        return value  # type: ignore[no-any-return]
    try:
        return convert(value)  # type: ignore[no-any-return]
    except TranslationError as exc:
        raise exc.at(where) from None
