"""An immutable mapping kept as a shared base plus the changes since, so that a compiled
config's per-key tables (every stored value, every value's version) change by what a watch
batch touched instead of being copied whole on every change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

# The changes are folded into a new base once they outnumber this share of it (plus a floor),
# so a lookup stays two dict probes and a change copies O(changes since the last fold):
# about one whole copy per len(base) / FOLD_DIVISOR changed keys.
FOLD_DIVISOR = 16
FOLD_MIN = 64
_ABSENT = object()


class Overlay(Mapping[K, V]):
    """`base` with `puts` put and `gone` deleted. Nothing in it is ever mutated: `changed`
    returns a new Overlay, sharing `base` (a plain dict only this module writes, and only
    while building it)."""

    __slots__ = ("_base", "_puts", "_gone", "_len")

    def __init__(self, base: dict[K, V], puts: dict[K, V], gone: frozenset[K], length: int) -> None:
        self._base = base
        self._puts = puts  # keys put since the base, with their new values
        self._gone = gone  # keys of the base deleted since (never also in puts)
        self._len = length

    @classmethod
    def of(cls, items: Mapping[K, V]) -> Overlay[K, V]:
        """A copy of `items`."""
        base = dict(items)
        return cls(base, {}, frozenset(), len(base))

    def changed(self, puts: Mapping[K, V], deletes: Iterable[K]) -> Overlay[K, V]:
        """This mapping with `puts` put, then `deletes` deleted (a key in both is deleted)."""
        base = self._base
        new_puts = {**self._puts, **puts}
        gone = set(self._gone).difference(puts)
        length = self._len + sum(1 for key in puts if key not in self)
        for key in deletes:
            if key in new_puts or (key in base and key not in gone):
                length -= 1
            new_puts.pop(key, None)
            if key in base:
                gone.add(key)
        if len(new_puts) + len(gone) > FOLD_MIN + len(base) // FOLD_DIVISOR:
            folded = {key: value for key, value in base.items() if key not in gone}
            folded.update(new_puts)
            return Overlay(folded, {}, frozenset(), len(folded))
        return Overlay(base, new_puts, frozenset(gone), length)

    def __getitem__(self, key: K) -> V:
        value = self._puts.get(key, _ABSENT)
        if value is not _ABSENT:
            return value  # type: ignore[return-value]
        if key in self._gone:
            raise KeyError(key)
        return self._base[key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        value = self._puts.get(key, _ABSENT)
        if value is not _ABSENT:
            return value  # type: ignore[return-value]
        if key in self._gone:
            return default
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._puts or (key in self._base and key not in self._gone)

    def __iter__(self) -> Iterator[K]:
        puts, gone = self._puts, self._gone
        for key in self._base:
            if key not in gone:
                yield key
        base = self._base
        for key in puts:
            if key not in base:  # a key of the base was yielded above (puts and gone never share one)
                yield key

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Overlay({dict(self)!r})"
