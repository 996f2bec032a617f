"""Japanese postal codes: any common spelling (〒100-0013, １００－００１３) ↔ the canonical 7 digits."""

from __future__ import annotations

import re

from .errors import TranslationError
from .numerals import DIGIT_FOLD

# Dash look-alikes seen between the 3- and 4-digit groups: - － ー ‐ ‑ − – — ― ｰ
DASHES = "-\uff0d\u30fc\u2010\u2011\u2212\u2013\u2014\u2015\uff70"
_POSTAL = re.compile(
    "(?:\u3012[ \u3000]?)?(?P<head>[0-9]{3})[" + re.escape(DASHES) + "]?(?P<tail>[0-9]{4})"
)
_CANONICAL = re.compile(r"[0-9]{7}")


def postal_to_digits(text: str) -> str:
    """`〒100-0013`, `１００－００１３`, `100-0013`, `1000013` → `1000013`.

    An optional 〒 (with one space after it) may lead; ASCII or full-width digits; at most one
    dash, and only between the 3- and 4-digit groups. Anything else is refused.
    """
    match = _POSTAL.fullmatch(text.translate(DIGIT_FOLD))
    if not match:
        raise TranslationError("not a 7-digit postal code", text)
    return match["head"] + match["tail"]


def digits_to_postal(text: str) -> str:
    """`1000013` → `100-0013`; only the canonical 7 ASCII digits are accepted."""
    if not _CANONICAL.fullmatch(text):
        raise TranslationError("not 7 ASCII digits", text)
    return f"{text[:3]}-{text[3:]}"
