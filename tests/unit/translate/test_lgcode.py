"""全国地方公共団体コード: the check digit, validation and the 5 ↔ 6 digit pair."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.lgcode import add_check_digit, lg_code_5_to_6, lg_code_6_to_5, validate_lg_code

from .strategies import LG_CODES_5, LG_CODES_6

FAST = settings(max_examples=200, deadline=None)

CHECK_DIGITS = [
    ("13101", "131016"),  # 千代田区, remainder 5
    ("13104", "131041"),  # 新宿区, remainder 0 → 1
    ("13113", "131130"),  # 渋谷区, remainder 1 → 0
    ("01100", "011002"),  # 札幌市
    ("14100", "141003"),  # 横浜市
    ("27100", "271004"),  # 大阪市
]


@pytest.mark.parametrize(("code5", "code6"), CHECK_DIGITS)
def test_add_check_digit_matches_published_codes(code5: str, code6: str) -> None:
    """The check digit is (11 − Σ wᵢdᵢ mod 11) mod 10 with weights 6,5,4,3,2."""
    assert add_check_digit(code5) == code6
    assert lg_code_5_to_6(code5) == code6
    assert lg_code_6_to_5(code6) == code5


@pytest.mark.parametrize("code6", [c6 for _, c6 in CHECK_DIGITS])
def test_validate_lg_code_accepts_correct_codes(code6: str) -> None:
    """A code with the right check digit is returned unchanged."""
    assert validate_lg_code(code6) == code6


REFUSED = [
    ("131017", "wrong check digit"),
    ("131040", "wrong check digit"),
    ("13101", "not a 6-digit"),
    ("1310160", "not a 6-digit"),
    ("13101a", "not a 6-digit"),
    ("１３１０１６", "not a 6-digit"),
    ("", "not a 6-digit"),
    ("001001", "prefecture"),
    ("481001", "prefecture"),
]


@pytest.mark.parametrize(("code6", "reason"), REFUSED)
def test_validate_lg_code_refuses_bad_codes(code6: str, reason: str) -> None:
    """Wrong check digit, wrong length, non-ASCII digits or an unknown prefecture are refused."""
    with pytest.raises(TranslationError) as exc:
        validate_lg_code(code6)
    assert reason in exc.value.reason


@pytest.mark.parametrize("code5", ["1310", "131011", "1310a", "１３１０１", "00100", "99100", ""])
def test_add_check_digit_refuses_bad_codes(code5: str) -> None:
    """Only five ASCII digits with a prefecture 01-47 get a check digit."""
    with pytest.raises(TranslationError):
        add_check_digit(code5)


@FAST
@given(LG_CODES_5)
def test_lg_code_5_to_6_round_trips(code5: str) -> None:
    """lg_code_6_to_5(lg_code_5_to_6(x)) == x for every 5-digit code."""
    assert lg_code_6_to_5(lg_code_5_to_6(code5)) == code5


@FAST
@given(LG_CODES_6)
def test_lg_code_6_to_5_round_trips(code6: str) -> None:
    """lg_code_5_to_6(lg_code_6_to_5(x)) == x for every valid 6-digit code."""
    assert lg_code_5_to_6(lg_code_6_to_5(code6)) == code6


@FAST
@given(LG_CODES_6, st.integers(min_value=1, max_value=9))
def test_every_wrong_check_digit_is_refused(code6: str, shift: int) -> None:
    """Changing the check digit to any other digit makes the code invalid."""
    wrong = code6[:5] + str((int(code6[5]) + shift) % 10)
    with pytest.raises(TranslationError):
        validate_lg_code(wrong)
