"""Exact matching only: no variant of an allowed method path ever matches its allow rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.policy import Reason, compile_policies
from mesh.policy.methods import is_canonical_method
from tests.unit.policy.world import GET, KAIGO, ORG_B, PROVIDER, base_resources, policy, rule

# Everyone in org B may call GetPerson with no purpose: the widest allow rule there is.
TABLE = compile_policies([*base_resources(), policy("open", rule("r", {"org": ORG_B}, [GET], [],
                                                                purposeRequired=False))])
SERVICE, METHOD = GET[1:].split("/")

TRICKS = {
    "double leading slash": "/" + GET,
    "double middle slash": f"/{SERVICE}//{METHOD}",
    "trailing slash": GET + "/",
    "upper-case package": GET.replace("test.policy", "TEST.POLICY"),
    "lower-case everything": GET.lower(),
    "upper-case everything": GET.upper(),
    "percent-encoded slash": f"/{SERVICE}%2F{METHOD}",
    "percent-encoded slash, lower hex": f"/{SERVICE}%2f{METHOD}",
    "percent-encoded leading slash": f"%2F{SERVICE}/{METHOD}",
    "percent-encoded dot dot": f"/{SERVICE}/%2E%2E/{SERVICE}/{METHOD}",
    "encoded dots in the method": f"/{SERVICE}/%2E%2E{METHOD}",
    "dot segment": f"/{SERVICE}/./{METHOD}",
    "dot dot segment": f"/{SERVICE}/x/../{METHOD}",
    "query": GET + "?x",
    "fragment": GET + "#f",
    "NUL": GET + "\x00",
    "NUL inside": f"/{SERVICE}\x00/{METHOD}",
    "trailing space": GET + " ",
    "leading space": " " + GET,
    "trailing newline": GET + "\n",
    "tab": f"/{SERVICE}/\t{METHOD}",
    "no leading slash": GET[1:],
    "backslash": f"/{SERVICE}\\{METHOD}",
    "fullwidth solidus": f"/{SERVICE}\uff0f{METHOD}",
    "cyrillic lookalike": GET.replace("e", "\u0435"),
    "8 KiB path": GET + "A" * 8192,
    "8 KiB padding before": "/" * 8192 + GET[1:],
    "empty": "",
}


@pytest.mark.parametrize("path", list(TRICKS.values()), ids=list(TRICKS))
def test_path_trick_never_matches(path: str) -> None:
    """The provider's decision and the egress check both deny; no rule is named."""
    decision = TABLE.decide(KAIGO, path, None, PROVIDER)
    assert not decision.allowed and decision.rule == "" and decision.field_grant is None
    assert decision.reason in (Reason.METHOD_NOT_ALLOWED, Reason.CALLER_NOT_ALLOWED)
    egress = TABLE.egress(KAIGO, path, None)
    assert not egress.allowed and egress.rule == ""


# Case changes are well-formed paths of other (nonexistent) methods: they are refused by the
# exact lookup, not by the shape.
_MISSHAPEN = {k: v for k, v in TRICKS.items() if "case" not in k}


@pytest.mark.parametrize("path", list(_MISSHAPEN.values()), ids=list(_MISSHAPEN))
def test_path_trick_is_not_canonical(path: str) -> None:
    """The validator's shape check refuses every misshapen trick as a method in a policy."""
    assert not is_canonical_method(path)


def test_exact_path_is_allowed() -> None:
    """The control: the exact canonical path is allowed by the same rule."""
    assert TABLE.decide(KAIGO, GET, None, PROVIDER).allowed and is_canonical_method(GET)


def test_bytes_path_never_matches() -> None:
    """A path given as bytes is not the path: denied."""
    assert not TABLE.decide(KAIGO, GET.encode(), None, PROVIDER).allowed  # type: ignore[arg-type]
    assert not TABLE.egress(KAIGO, GET.encode(), None).allowed  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_other_string_is_denied(path: str) -> None:
    """Only the one exact string is ever allowed."""
    if path != GET:
        assert not TABLE.decide(KAIGO, path, None, PROVIDER).allowed
