"""Names: split on exactly one U+3000 or U+0020, keep the separator, never normalise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.kept import Kept
from mesh.translate.names import join_name, restore_name, split_name

from .strategies import NAME_PARTS, NAMES

FAST = settings(max_examples=200, deadline=None)

SPLITS = [
    ("山田\u3000花子", ("山田", "花子"), "\u3000"),
    ("山田 花子", ("山田", "花子"), " "),
    ("ヤマダ\u3000ハナコ", ("ヤマダ", "ハナコ"), "\u3000"),
    ("Yamada Hanako", ("Yamada", "Hanako"), " "),
    ("\ufa19田\u3000太郎", ("\ufa19田", "太郎"), "\u3000"),
]


@pytest.mark.parametrize(("text", "parts", "sep"), SPLITS)
def test_split_name_returns_parts_and_keeps_the_separator(
    text: str, parts: tuple[str, str], sep: str
) -> None:
    """A name with one separator splits into (family, given), keeping the separator."""
    assert split_name(text) == Kept(parts, sep)


REFUSED = [
    ("山田花子", "no separator"),
    ("", "no separator"),
    (" 山田 花子", "more than one"),
    ("山田 花子 ", "more than one"),
    ("山田\u3000 花子", "more than one"),
    ("山田  花子", "more than one"),
    ("山田 花子 次郎", "more than one"),
    (" 山田花子", "leading or trailing"),
    ("山田花子\u3000", "leading or trailing"),
    ("\u3000", "leading or trailing"),
    ("山田\t花子", "not U+3000 or U+0020"),
    ("山田\u00a0花子", "not U+3000 or U+0020"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_split_name_refuses_rather_than_guesses(text: str, reason: str) -> None:
    """No separator, two separators, edge whitespace or another space character is refused."""
    with pytest.raises(TranslationError) as exc:
        split_name(text)
    assert reason in exc.value.reason


@pytest.mark.parametrize(
    ("family", "given", "sep", "name"),
    [("山田", "花子", "\u3000", "山田\u3000花子"), ("山田", "花子", " ", "山田 花子")],
)
def test_join_name_uses_the_separator(family: str, given: str, sep: str, name: str) -> None:
    """join_name puts exactly the given separator between the parts."""
    assert join_name(family, given, sep=sep) == name


def test_join_name_defaults_to_ideographic_space() -> None:
    """Without a separator, join_name uses U+3000."""
    assert join_name("山田", "花子") == "山田\u3000花子"


@pytest.mark.parametrize(
    ("family", "given", "sep"),
    [
        ("", "花子", " "),
        ("山田", "", " "),
        ("山 田", "花子", " "),
        ("山田", "花\u3000子", " "),
        ("山田", "花子", "\t"),
    ],
)
def test_join_name_refuses_parts_that_would_not_split_back(
    family: str, given: str, sep: str
) -> None:
    """Empty parts, whitespace inside a part or another separator are refused."""
    with pytest.raises(TranslationError):
        join_name(family, given, sep=sep)


@FAST
@given(NAMES)
def test_restore_name_gives_back_the_exact_name(name: str) -> None:
    """restore_name(split_name(x).value, split_name(x).kept) == x, byte for byte."""
    result = split_name(name)
    assert restore_name(result.value, result.kept) == name


@FAST
@given(NAME_PARTS, NAME_PARTS, st.sampled_from(["\u3000", " "]))
def test_split_name_inverts_join_name(family: str, given: str, sep: str) -> None:
    """split_name(join_name(f, g, sep)) == Kept((f, g), sep)."""
    assert split_name(join_name(family, given, sep=sep)) == Kept((family, given), sep)


@FAST
@given(st.text(max_size=10))
def test_split_name_fails_only_with_translation_error(text: str) -> None:
    """Any text either splits or fails with a TranslationError."""
    try:
        split_name(text)
    except TranslationError as exc:
        assert exc.value == text
