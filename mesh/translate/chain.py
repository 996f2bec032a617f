"""Function chains: a rule's value functions, applied in order one way and inverted the other.

Each step pairs a registered function F (local → canonical) with the entry its inverse_name
names, G (canonical → local). Values flow as tuples whose length must fit each step's inputs
and outputs. What a lossy function drops is not carried here: a rule that is not iso keeps
the original values for the exchange and writes them back when the same values return (see
field_rule.py), which restores folded spellings as well as dropped separators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from .codelist import CodeList, load_code_list
from .errors import CodeListError, Problem
from .kept import Kept
from .registry import FUNCTIONS, ValueFunction
from .values import Kind, worst

Values = tuple[Any, ...]
_JST = timezone(timedelta(hours=9))
TODAY = "today"  # a `reference` param evaluated at each call, as the date in Japan


@dataclass(frozen=True, slots=True)
class Step:
    """One function with its opposite: `forward` is F, `backward` G, both with params bound."""

    name: str
    inputs: int
    outputs: int
    forward: Callable[..., Any]
    backward: Callable[..., Any]
    kind: Kind


@dataclass(frozen=True, slots=True)
class Chain:
    """Steps applied in order forward and in reverse order backward."""

    steps: tuple[Step, ...]
    inputs: int
    outputs: int

    @property
    def kind(self) -> Kind:
        return worst(*(s.kind for s in self.steps))

    def simple(self, backward: bool) -> Callable[[Any], Any] | None:
        """One value in, one out: the composed functions, or None."""
        if self.inputs != 1 or self.outputs != 1:
            return None
        return self.function(backward)

    def function(self, backward: bool) -> Callable[..., Any]:
        """The steps composed into one callable: takes the values positionally and returns
        one value, or a tuple when several come out (lossy results already unwrapped)."""
        steps = tuple(reversed(self.steps)) if backward else self.steps
        composed: Callable[..., Any] | None = None
        spreads = False  # whether the previous step gives several values
        for step in steps:
            current = step.backward if backward else step.forward
            if composed is not None:
                composed = _then(composed, current, spreads)
            else:
                composed = current
            spreads = (step.inputs if backward else step.outputs) > 1
        assert composed is not None
        return composed


def _then(first: Callable[..., Any], second: Callable[..., Any], spreads: bool) -> Callable[..., Any]:
    if spreads:
        return lambda *values: second(*first(*values))
    return lambda *values: second(first(*values))


def _unwrapped(function: Callable[..., Any]) -> Callable[..., Any]:
    """A lossy function without its Kept wrapper (lossy functions always return one): the
    rule keeps the original values instead."""

    def call(*values: Any) -> Any:
        result: Kept[Any] = function(*values)
        return result.value

    return call


def compile_chain(
    calls: Sequence[tuple[str, Mapping[str, Any]]], inputs: int, outputs: int, path: str
) -> Chain | list[Problem]:
    """The chain of `calls` ((name, params) in order) for `inputs` → `outputs` values; or
    every problem, each at `path`.functions[i]."""
    problems: list[Problem] = []
    steps: list[Step] = []
    flowing = inputs
    for i, (name, params) in enumerate(calls):
        where = f"{path}.functions[{i}]"
        step = _compile_step(name, params, where, problems)
        if step is None:
            flowing = -1
            continue
        if flowing >= 0 and flowing != step.inputs:
            problems.append(Problem(where, f"{name} takes {step.inputs} value(s), but "
                                           f"{flowing} reach it"))
        flowing = step.outputs
        steps.append(step)
    if not problems and flowing != outputs:
        problems.append(Problem(path, f"the functions give {flowing} value(s) for {outputs} "
                                      "canonical field(s)"))
    return problems or Chain(tuple(steps), inputs, outputs)


def _compile_step(name: str, params: Mapping[str, Any], where: str,
                  problems: list[Problem]) -> Step | None:
    function = FUNCTIONS.get(name)
    if function is None:
        problems.append(Problem(f"{where}.name", f"no value function named {name!r}"))
        return None
    if function.inverse_name is None:
        problems.append(Problem(f"{where}.name", f"{name} has no inverse, so the reverse "
                                                 "direction (and the round trip) is undefined"))
        return None
    opposite = FUNCTIONS[function.inverse_name]
    allowed = function.params | opposite.params
    bad = sorted(set(params) - allowed)
    if bad:
        takes = ", ".join(sorted(allowed)) or "no parameters"
        problems.append(Problem(f"{where}.params", f"unknown parameter(s) {', '.join(bad)} "
                                                   f"({name} and its inverse take {takes})"))
        return None
    try:
        resolved = {key: _param(key, value) for key, value in params.items()}
    except (CodeListError, ValueError) as exc:
        problems.append(Problem(f"{where}.params", str(exc)))
        return None
    return Step(
        name=name,
        inputs=function.inputs,
        outputs=function.outputs,
        forward=_plain(function, resolved),
        backward=_plain(opposite, resolved),
        kind=worst(function.kind, opposite.kind),
    )


def _param(key: str, value: Any) -> Any:
    """A Mapping's param as the function wants it: code lists built once, here."""
    if key == "table":
        if isinstance(value, str):
            return load_code_list(value)
        if isinstance(value, Mapping):
            if not all(isinstance(v, str) for v in value.values()):
                raise ValueError("table: code list values must be quoted strings")
            return CodeList.from_mapping("inline", {str(k): v for k, v in value.items()})
        raise ValueError("table: must be a shipped code list name or a {local: code} mapping")
    return value


def _plain(function: ValueFunction, params: Mapping[str, Any]) -> Callable[..., Any]:
    table = params.get("table")
    if isinstance(table, CodeList) and function.name in _TABLE_METHODS:
        # The code list is built already: call its own lookup, skipping the name resolution.
        return getattr(table, _TABLE_METHODS[function.name])  # type: ignore[no-any-return]
    bound = _bind(function.forward, params, function.params)
    return _unwrapped(bound) if function.kind == "lossy" else bound


_TABLE_METHODS = {"lookup_code": "lookup", "reverse_lookup_code": "reverse_lookup"}


def _bind(function: Callable[..., Any], params: Mapping[str, Any],
          accepts: frozenset[str]) -> Callable[..., Any]:
    own = {k: v for k, v in params.items() if k in accepts}
    if own.get("reference") == TODAY:
        del own["reference"]
        return lambda *values: function(*values, reference=datetime.now(_JST).date(), **own)
    return partial(function, **own) if own else function

