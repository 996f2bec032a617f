"""The value-function registry: every function a Mapping may name, with its kind and inverse.

Kinds and the round-trip law each promises, for every input the function accepts (all of
them refuse input outside their domain with a TranslationError, never another exception):
  iso      inverse(forward(x)) == x, and the inverse is the registered inverse_name entry.
  lossy    forward returns Kept(value, kept); inverse(value, kept) == x.
  partial  may refuse or fold several spellings into one; when `inverse` is set,
           forward(inverse(forward(x))) == forward(x): the inverse picks one spelling.
`invert` passes the inverse only the Mapping params it declares (`inverse_params`).
`inverse_name` names the entry a Mapping uses for the opposite direction (for lossy entries:
when nothing was kept).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from . import codelist, kana, lgcode, names, postal, wareki, yearless
from .errors import TranslationError

Kind = Literal["iso", "lossy", "partial"]


@dataclass(frozen=True, slots=True)
class ValueFunction:
    """A registered function: `inputs` values in, `outputs` values out, `params` by keyword."""

    name: str
    kind: Kind
    forward: Callable[..., Any]
    inverse: Callable[..., Any] | None
    inverse_name: str | None
    params: frozenset[str] = frozenset()
    inverse_params: frozenset[str] = frozenset()
    inputs: int = 1
    outputs: int = 1

    def apply(self, *values: Any, field: str = "", **params: Any) -> Any:
        """forward(*values, **params), with any TranslationError naming `field`."""
        try:
            return self.forward(*values, **params)
        except TranslationError as exc:
            raise exc.at(field) from None

    def invert(self, *values: Any, field: str = "", **params: Any) -> Any:
        """inverse(*values) with the params it declares; for lossy entries pass (value, kept)."""
        if self.inverse is None:
            raise LookupError(f"value function {self.name!r} has no inverse")
        own = {key: value for key, value in params.items() if key in self.inverse_params}
        try:
            return self.inverse(*values, **own)
        except TranslationError as exc:
            raise exc.at(field) from None


def _keyword_only(function: Callable[..., Any] | None) -> frozenset[str]:
    if function is None:
        return frozenset()
    parameters = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _entry(
    forward: Callable[..., Any],
    kind: Kind,
    inverse: Callable[..., Any] | None,
    inverse_name: str | None,
    *,
    inputs: int = 1,
    outputs: int = 1,
) -> ValueFunction:
    return ValueFunction(
        name=forward.__name__,
        kind=kind,
        forward=forward,
        inverse=inverse,
        inverse_name=inverse_name,
        params=_keyword_only(forward),
        inverse_params=_keyword_only(inverse),
        inputs=inputs,
        outputs=outputs,
    )


_ENTRIES = (
    _entry(wareki.wareki_to_iso, "partial", wareki.iso_to_wareki, "iso_to_wareki"),
    _entry(wareki.iso_to_wareki, "partial", wareki.wareki_to_iso, "wareki_to_iso"),
    _entry(wareki.era_code_to_iso, "iso", wareki.iso_to_era_code, "iso_to_era_code"),
    _entry(wareki.iso_to_era_code, "iso", wareki.era_code_to_iso, "era_code_to_iso"),
    _entry(yearless.yearless_to_iso, "partial", yearless.drop_year, "iso_to_yearless"),
    _entry(yearless.iso_to_yearless, "lossy", yearless.restore_yearless, "yearless_to_iso"),
    _entry(names.split_name, "lossy", names.restore_name, "join_name", outputs=2),
    _entry(names.join_name, "partial", None, "split_name", inputs=2),
    _entry(
        kana.halfwidth_kana_to_fullwidth,
        "partial",
        kana.fullwidth_kana_to_halfwidth,
        "fullwidth_kana_to_halfwidth",
    ),
    _entry(
        kana.fullwidth_kana_to_halfwidth,
        "partial",
        kana.halfwidth_kana_to_fullwidth,
        "halfwidth_kana_to_fullwidth",
    ),
    _entry(kana.hiragana_to_katakana, "partial", kana.katakana_to_hiragana, "katakana_to_hiragana"),
    _entry(kana.katakana_to_hiragana, "partial", kana.hiragana_to_katakana, "hiragana_to_katakana"),
    _entry(kana.digits_to_ascii, "partial", None, None),
    _entry(postal.postal_to_digits, "partial", postal.digits_to_postal, "digits_to_postal"),
    _entry(postal.digits_to_postal, "iso", postal.postal_to_digits, "postal_to_digits"),
    _entry(lgcode.lg_code_5_to_6, "iso", lgcode.lg_code_6_to_5, "lg_code_6_to_5"),
    _entry(lgcode.lg_code_6_to_5, "iso", lgcode.lg_code_5_to_6, "lg_code_5_to_6"),
    _entry(lgcode.validate_lg_code, "iso", lgcode.validate_lg_code, "validate_lg_code"),
    _entry(codelist.lookup_code, "iso", codelist.reverse_lookup_code, "reverse_lookup_code"),
    _entry(codelist.reverse_lookup_code, "iso", codelist.lookup_code, "lookup_code"),
)

FUNCTIONS: Mapping[str, ValueFunction] = MappingProxyType({e.name: e for e in _ENTRIES})


def get(name: str) -> ValueFunction:
    """The registered function `name`; LookupError naming it if there is none."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise LookupError(f"no value function named {name!r}") from None
