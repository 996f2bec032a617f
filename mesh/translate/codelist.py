"""Code lists: a bijective table between local labels and canonical codes, kept as data.

Shipped lists live in codelists/<name>.yaml; a Mapping may also carry its own table inline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from .errors import CodeListError, TranslationError

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_DOCUMENT_KEYS = frozenset({"name", "description", "pairs"})


@dataclass(frozen=True, slots=True)
class CodeList:
    """`pairs` are (local, canonical); construction refuses anything that is not a bijection."""

    name: str
    pairs: tuple[tuple[str, str], ...]
    _forward: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _reverse: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        first_local: dict[str, int] = {}
        first_code: dict[str, int] = {}
        for i, pair in enumerate(self.pairs):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                problems.append(f"pairs[{i}]: not a (local, canonical) pair")
                continue
            sides = (("local", pair[0], first_local), ("canonical", pair[1], first_code))
            for side, value, seen in sides:
                if not isinstance(value, str) or not value:
                    problems.append(f"pairs[{i}]: {side} value must be a non-empty string")
                elif value in seen:
                    problems.append(
                        f"pairs[{i}]: duplicate {side} value {value!r}"
                        f" (first at pairs[{seen[value]}])"
                    )
                else:
                    seen[value] = i
        if not self.pairs:
            problems.append("pairs: must not be empty")
        if problems:
            raise CodeListError(self.name, tuple(problems))
        object.__setattr__(self, "_forward", MappingProxyType(dict(self.pairs)))
        object.__setattr__(self, "_reverse", MappingProxyType({c: v for v, c in self.pairs}))

    @classmethod
    def from_mapping(cls, name: str, table: Mapping[str, str]) -> CodeList:
        """A code list from {local: canonical}, as written in YAML or a Mapping resource."""
        return cls(name, tuple(table.items()))

    def lookup(self, value: str) -> str:
        """Local label → canonical code."""
        try:
            return self._forward[value]
        except (KeyError, TypeError):
            reason = f"not a local value of code list {self.name!r}"
            raise TranslationError(reason, value) from None

    def reverse_lookup(self, value: str) -> str:
        """Canonical code → local label."""
        try:
            return self._reverse[value]
        except (KeyError, TypeError):
            reason = f"not a canonical code of code list {self.name!r}"
            raise TranslationError(reason, value) from None


@lru_cache(maxsize=64)
def load_code_list(name: str) -> CodeList:
    """The shipped code list `name` (codelists/<name>.yaml), parsed strictly."""
    if not _NAME.fullmatch(name):
        raise CodeListError(name, ("not a code list name",))
    source = resources.files("mesh.translate").joinpath("codelists", f"{name}.yaml")
    if not source.is_file():
        raise CodeListError(name, ("no such shipped code list",))
    return parse_code_list(name, yaml.safe_load(source.read_text(encoding="utf-8")))


def parse_code_list(name: str, document: Any) -> CodeList:
    """A code list from a parsed YAML document {name, description?, pairs: {local: canonical}}."""
    if not isinstance(document, dict):
        raise CodeListError(name, ("document must be a mapping",))
    problems = [f"{key}: unknown field" for key in document if key not in _DOCUMENT_KEYS]
    if document.get("name") != name:
        problems.append(f"name: must be {name!r}")
    pairs = document.get("pairs")
    if not isinstance(pairs, dict):
        problems.append("pairs: must be a mapping of local value to canonical code")
    if problems:
        raise CodeListError(name, tuple(problems))
    return CodeList.from_mapping(name, pairs)


def lookup_code(value: str, *, table: CodeList | Mapping[str, str] | str) -> str:
    """Local label → canonical code; `table` is a CodeList, an inline dict or a shipped name."""
    return _resolve(table).lookup(value)


def reverse_lookup_code(value: str, *, table: CodeList | Mapping[str, str] | str) -> str:
    """Canonical code → local label; the inverse of lookup_code over the same table."""
    return _resolve(table).reverse_lookup(value)


def _resolve(table: CodeList | Mapping[str, str] | str) -> CodeList:
    if isinstance(table, CodeList):
        return table
    if isinstance(table, str):
        return load_code_list(table)
    return CodeList.from_mapping("inline", table)
