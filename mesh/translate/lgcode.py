"""全国地方公共団体コード: the 5-digit local government code and its 6-digit form with check digit.

Check digit rule (総務省): weigh the five digits by 6, 5, 4, 3, 2 and sum; r = sum mod 11;
the check digit is the last digit of 11 − r, i.e. (11 − r) mod 10, so r = 0 → 1 and r = 1 → 0.
Example: 13101 → 1·6 + 3·5 + 1·4 + 0·3 + 1·2 = 27, r = 5, check 6 → 131016.
"""

from __future__ import annotations

import re

from .errors import TranslationError

_WEIGHTS = (6, 5, 4, 3, 2)
_FIVE = re.compile(r"[0-9]{5}")
_SIX = re.compile(r"[0-9]{6}")
PREFECTURES = range(1, 48)  # 01 北海道 … 47 沖縄県


def check_digit(code5: str) -> str:
    """The check digit of a valid 5-digit code: (11 − Σ wᵢdᵢ mod 11) mod 10 as one digit."""
    remainder = sum(w * int(d) for w, d in zip(_WEIGHTS, code5, strict=True)) % 11
    return str((11 - remainder) % 10)


def add_check_digit(code5: str) -> str:
    """`13101` → `131016`: five ASCII digits with a prefecture 01-47, plus the check digit."""
    if not _FIVE.fullmatch(code5):
        raise TranslationError("not a 5-digit local government code", code5)
    if int(code5[:2]) not in PREFECTURES:
        raise TranslationError("prefecture part is not 01-47", code5)
    return code5 + check_digit(code5)


def validate_lg_code(code6: str) -> str:
    """`131016` → `131016`; refuses anything but six digits with the right check digit."""
    if not _SIX.fullmatch(code6):
        raise TranslationError("not a 6-digit local government code", code6)
    if int(code6[:2]) not in PREFECTURES:
        raise TranslationError("prefecture part is not 01-47", code6)
    expected = check_digit(code6[:5])
    if code6[5] != expected:
        raise TranslationError(f"wrong check digit (expected {expected})", code6)
    return code6


def lg_code_5_to_6(code5: str) -> str:
    """The 5-digit code → the 6-digit code (adds the check digit)."""
    return add_check_digit(code5)


def lg_code_6_to_5(code6: str) -> str:
    """The 6-digit code → the 5-digit code, after checking the check digit."""
    return validate_lg_code(code6)[:5]
