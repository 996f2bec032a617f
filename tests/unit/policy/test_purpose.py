"""x-mesh-purpose is read strictly: one value, ASCII, a purpose name; otherwise invalid."""

from __future__ import annotations

import pytest

from mesh.policy import PURPOSE_KEY, InvalidPurpose, Reason, compile_policies, purpose_from_metadata
from tests.unit.policy.world import GET, ORG_B, PROVIDER, TAXI, base_resources, policy, rule


@pytest.mark.parametrize(("metadata", "expected"), [
    (None, None),
    ([], None),
    ([("x-other", "welfare-eligibility")], None),
    ([(PURPOSE_KEY, "welfare-eligibility")], "welfare-eligibility"),
    ([("X-Mesh-Purpose", "welfare-eligibility")], "welfare-eligibility"),
    ([("x-other", "a"), (PURPOSE_KEY, "care-dispatch")], "care-dispatch"),
])
def test_well_formed_purpose_is_read(metadata, expected) -> None:  # type: ignore[no-untyped-def]
    """Absent gives None; exactly one well-formed value, under any key case, is the purpose."""
    assert purpose_from_metadata(metadata) == expected


@pytest.mark.parametrize("metadata", [
    [(PURPOSE_KEY, "welfare-eligibility"), (PURPOSE_KEY, "welfare-eligibility")],
    [(PURPOSE_KEY, "welfare-eligibility"), (PURPOSE_KEY, "care-dispatch")],
    [(PURPOSE_KEY, "welfare-eligibility"), ("X-Mesh-Purpose", "care-dispatch")],
    [("X-MESH-PURPOSE", "care-dispatch"), ("x-mesh-purpose", "welfare-eligibility")],
    [(PURPOSE_KEY, "")],
    [(PURPOSE_KEY, "Welfare-Eligibility")],
    [(PURPOSE_KEY, "welfare-eligibility ")],
    [(PURPOSE_KEY, " welfare-eligibility")],
    [(PURPOSE_KEY, "welfare-eligibility,care-dispatch")],
    [(PURPOSE_KEY, "welfare-eligibility\x00")],
    [(PURPOSE_KEY, "welfare-eligibility\n")],
    [(PURPOSE_KEY, "ｗｅｌｆａｒｅ")],
    [(PURPOSE_KEY, "福祉")],
    [(PURPOSE_KEY, "-welfare")],
    [(PURPOSE_KEY, "welfare-")],
    [(PURPOSE_KEY, "a" * 64)],
    [(PURPOSE_KEY, b"welfare-eligibility")],
    [(PURPOSE_KEY, "welfare%2Deligibility")],
])
def test_malformed_or_repeated_purpose_is_invalid(metadata) -> None:  # type: ignore[no-untyped-def]
    """Several values (whatever their key case), bytes, non-ASCII or a wrong shape: invalid."""
    assert isinstance(purpose_from_metadata(metadata), InvalidPurpose)


def test_invalid_purpose_does_not_echo_the_value() -> None:
    """The reason never repeats what the app sent."""
    result = purpose_from_metadata([(PURPOSE_KEY, "secret\nvalue")])
    assert isinstance(result, InvalidPurpose) and "secret" not in result.reason


def test_duplicate_purpose_headers_never_bypass_a_rule() -> None:
    """An allowed purpose next to another value, under a case-variant key, is denied."""
    table = compile_policies([*base_resources(), policy("p", rule("r", {"org": ORG_B}))])
    allowed = purpose_from_metadata([(PURPOSE_KEY, "welfare-eligibility")])
    assert table.decide(TAXI, GET, allowed, PROVIDER).allowed
    for metadata in ([(PURPOSE_KEY, "welfare-eligibility"), ("X-Mesh-Purpose", "welfare-eligibility")],
                     [("X-Mesh-Purpose", "care-dispatch"), (PURPOSE_KEY, "welfare-eligibility")]):
        decision = table.decide(TAXI, GET, purpose_from_metadata(metadata), PROVIDER)
        assert not decision.allowed and decision.reason is Reason.PURPOSE_NOT_ALLOWED


def test_invalid_purpose_is_refused_by_a_rule_that_requires_none() -> None:
    """Even a rule with purposeRequired: false refuses a malformed x-mesh-purpose."""
    table = compile_policies([*base_resources(), policy("p", rule("r", {"org": ORG_B}, purposes=[],
                                                                  purposeRequired=False))])
    assert table.decide(TAXI, GET, None, PROVIDER).allowed
    bad = purpose_from_metadata([(PURPOSE_KEY, "a"), (PURPOSE_KEY, "b")])
    assert table.decide(TAXI, GET, bad, PROVIDER).reason is Reason.PURPOSE_NOT_ALLOWED
