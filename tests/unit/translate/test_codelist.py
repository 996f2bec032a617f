"""Code lists: bijective tables kept as data; the shipped sex codes (ISO/IEC 5218)."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.codelist import (
    CodeList,
    load_code_list,
    lookup_code,
    parse_code_list,
    reverse_lookup_code,
)
from mesh.translate.errors import CodeListError, TranslationError

FAST = settings(max_examples=200, deadline=None)

SEX = [("男", "1"), ("女", "2"), ("不明", "0"), ("適用不能", "9")]


@pytest.mark.parametrize(("label", "code"), SEX)
def test_sex_code_list_converts_both_ways(label: str, code: str) -> None:
    """The shipped sex list maps 男/女/不明/適用不能 ↔ 1/2/0/9 both ways."""
    assert lookup_code(label, table="sex") == code
    assert reverse_lookup_code(code, table="sex") == label


def test_sex_code_list_ships_as_package_data() -> None:
    """codelists/sex.yaml is part of the package, so it is there after installation."""
    assert resources.files("mesh.translate").joinpath("codelists", "sex.yaml").is_file()


@pytest.mark.parametrize("value", ["男性", "3", "", "1 ", "M"])
def test_unknown_values_are_refused_both_ways(value: str) -> None:
    """A value not in the list is a TranslationError in either direction."""
    with pytest.raises(TranslationError):
        lookup_code(value, table="sex")
    with pytest.raises(TranslationError):
        reverse_lookup_code(value, table="sex")


def test_inline_table_works_like_a_shipped_list() -> None:
    """A Mapping may carry its own {local: canonical} table."""
    table = {"はい": "true", "いいえ": "false"}
    assert lookup_code("はい", table=table) == "true"
    assert reverse_lookup_code("false", table=table) == "いいえ"


def test_duplicate_canonical_values_are_refused() -> None:
    """Two labels for one code would make the reverse ambiguous, so construction fails."""
    with pytest.raises(CodeListError) as exc:
        CodeList.from_mapping("bad", {"男": "1", "男性": "1"})
    assert exc.value.problems == ("pairs[1]: duplicate canonical value '1' (first at pairs[0])",)


def test_duplicate_local_values_are_refused() -> None:
    """Two codes for one label would make the forward ambiguous, so construction fails."""
    with pytest.raises(CodeListError) as exc:
        CodeList("bad", (("男", "1"), ("男", "M")))
    assert "duplicate local value '男'" in str(exc.value)


def test_every_problem_is_listed() -> None:
    """All problems are reported at once, each with its position."""
    with pytest.raises(CodeListError) as exc:
        CodeList("bad", (("a", "1"), ("a", "1"), ("", "2"), ("c", 3)))  # type: ignore[arg-type]
    assert len(exc.value.problems) == 4


def test_empty_code_list_is_refused() -> None:
    """A code list with no pairs can translate nothing and is refused."""
    with pytest.raises(CodeListError):
        CodeList("empty", ())


@pytest.mark.parametrize(
    "document",
    [
        {"name": "sex", "pairs": {"男": 1}},
        {"name": "sex", "pairs": [["男", "1"]]},
        {"name": "other", "pairs": {"男": "1"}},
        {"name": "sex", "pairs": {"男": "1"}, "extra": True},
        ["男", "1"],
    ],
)
def test_parse_code_list_is_strict(document: object) -> None:
    """Unquoted numbers, a wrong shape, a wrong name or an unknown field are refused."""
    with pytest.raises(CodeListError):
        parse_code_list("sex", document)


@pytest.mark.parametrize("name", ["nonexistent", "../sex", "Sex", "", "sex.yaml"])
def test_load_code_list_refuses_unknown_names(name: str) -> None:
    """Only shipped lists with plain lower-case names load; no path tricks."""
    with pytest.raises(CodeListError):
        load_code_list(name)


BIJECTIONS = st.dictionaries(
    st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=5), min_size=1, max_size=8
).filter(lambda d: len(set(d.values())) == len(d))


@FAST
@given(BIJECTIONS)
def test_code_list_round_trips_both_ways(table: dict[str, str]) -> None:
    """reverse(lookup(x)) == x and lookup(reverse(y)) == y for every pair of a bijective table."""
    codes = CodeList.from_mapping("generated", table)
    for local, canonical in table.items():
        assert codes.reverse_lookup(codes.lookup(local)) == local
        assert codes.lookup(codes.reverse_lookup(canonical)) == canonical
