"""Person names as registered: one full name ↔ family and given name, never normalised.

A name is split only where it is unambiguous: exactly one U+3000 or U+0020 between two
non-empty parts. Anything else is refused rather than guessed.
"""

from __future__ import annotations

import re

from .errors import TranslationError
from .kept import Kept

SEPARATORS = ("\u3000", " ")
_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


def split_name(text: str) -> Kept[tuple[str, str]]:
    """`山田　花子` → Kept(("山田", "花子"), kept="\\u3000"): the separator is kept for restore_name."""
    separators = [m.start() for m in _WHITESPACE.finditer(text)]
    if not separators:
        raise TranslationError("no separator between family and given name", text)
    if len(separators) > 1:
        raise TranslationError("more than one whitespace character in the name", text)
    (index,) = separators
    if text[index] not in SEPARATORS:
        raise TranslationError(f"separator {text[index]!r} is not U+3000 or U+0020", text)
    if index == 0 or index == len(text) - 1:
        raise TranslationError("leading or trailing whitespace in the name", text)
    return Kept((text[:index], text[index + 1 :]), text[index])


def join_name(family: str, given: str, *, sep: str = "\u3000") -> str:
    """("山田", "花子") → `山田　花子`; each part must be non-empty and free of whitespace."""
    if sep not in SEPARATORS:
        raise TranslationError("separator is not U+3000 or U+0020", sep)
    for part in (family, given):
        if not part:
            raise TranslationError("empty family or given name", part)
        if _WHITESPACE.search(part):
            raise TranslationError("whitespace inside a family or given name", part)
    return f"{family}{sep}{given}"


def restore_name(parts: tuple[str, str], kept: str) -> str:
    """The exact name split_name was given, from its parts and the kept separator."""
    family, given = parts
    return join_name(family, given, sep=kept)
