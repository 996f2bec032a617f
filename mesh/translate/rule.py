"""A compiled rule: two closures (forward and reverse) and what each direction reads and writes.

`forward(local, canonical, kept, loc)` reads the local message and writes the canonical one;
`reverse(canonical, local, kept, loc)` the other way. `loc` locates the message within the
translated one for kept entries ("" at the top, the same in both directions). A refusal is a
TranslationError whose field is the path of the failing source field relative to the message;
nested rules prefix their own path as the error passes up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from .errors import TranslationError
from .kept import ExchangeKept
from .paths import FieldPath
from .values import Kind

Apply = Callable[[Message, Message, ExchangeKept, str], None]

TO_CANONICAL = "to-canonical "
TO_LOCAL = "to-local "


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule of a message mapping, ready to run both ways."""

    path: str  # where it is written: spec.messages[0].rules[2]
    kind: Kind
    forward: Apply
    reverse: Apply
    reads: tuple[FieldPath, ...]  # local fields read going forward (written going back)
    writes: tuple[FieldPath, ...]  # canonical fields written going forward (read going back)
    produced: frozenset[str]  # canonical paths it always writes (for required fields)
    conditional: bool = False  # reversed after every unconditional rule of its list
    restores: bool = True  # going back, writes its local fields from canonical data (drop: no)


def blame(paths: Sequence[str], values: Sequence[Any], exc: TranslationError) -> TranslationError:
    """The refusal at the source field whose value was refused (or all of them, joined)."""
    if exc.field:
        return exc
    if len(paths) == 1:
        return exc.at(paths[0])
    hits = [p for p, v in zip(paths, values) if v is not None and str(v) == exc.value]
    return exc.at(hits[0] if len(hits) == 1 else ",".join(paths))


def prefixed(exc: TranslationError, prefix: str) -> TranslationError:
    """The refusal seen from the enclosing message: `prefix.field`."""
    return exc.at(f"{prefix}.{exc.field}" if exc.field else prefix)


def run_all(rules: Iterable[Apply]) -> Apply:
    """One Apply that runs `rules` in order (the body of a message mapping or a branch)."""
    ordered = tuple(rules)
    if len(ordered) == 1:
        return ordered[0]

    def run(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        for rule in ordered:
            rule(src, dst, kept, loc)

    return run


def reverse_order(rules: Sequence[CompiledRule]) -> tuple[Apply, ...]:
    """Reverse closures: unconditional rules first, so that conditions see restored fields."""
    first = [r.reverse for r in rules if not r.conditional]
    return tuple(first + [r.reverse for r in rules if r.conditional])
