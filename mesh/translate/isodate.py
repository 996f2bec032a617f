"""ISO 8601 calendar dates (`YYYY-MM-DD`): the canonical spelling of every date in the mesh."""

from __future__ import annotations

import re
from datetime import date

from .errors import TranslationError

# date.fromisoformat also takes 20240224 and 2024-W08-6; canonical dates are only YYYY-MM-DD.
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})")


def parse_iso_date(text: str) -> date:
    """`2024-02-24` → date(2024, 2, 24); other spellings and impossible dates are refused."""
    match = _ISO_DATE.fullmatch(text)
    if not match:
        raise TranslationError("not an ISO 8601 date (YYYY-MM-DD)", text)
    return make_date(int(match["y"]), int(match["m"]), int(match["d"]), text)


def make_date(year: int, month: int, day: int, text: str) -> date:
    """date(year, month, day), or a TranslationError about `text` if there is no such day."""
    try:
        return date(year, month, day)
    except ValueError:
        reason = f"no such calendar date {year:04d}-{month:02d}-{day:02d}"
        raise TranslationError(reason, text) from None
