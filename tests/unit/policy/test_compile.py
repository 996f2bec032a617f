"""The compiler refuses what the control plane would have refused, rather than guess."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.policy import PolicyError, compile_policies
from tests.unit.policy.world import GET, KAIGO, ORG_B, PROVIDER, base_resources, policy, rule


@pytest.mark.parametrize(("overrides", "message"), [
    ({"name": ""}, r"spec.rules\[0\].name: required"),
    ({"callers": {}}, r"spec.rules\[0\].callers: exactly one"),
    ({"callers": {"org": ORG_B, "spiffeIds": [KAIGO]}}, r"spec.rules\[0\].callers: exactly one"),
    ({"purposes": []}, r"spec.rules\[0\].purposes: required unless purposeRequired is false"),
    ({"purposeRequired": False}, r"spec.rules\[0\].purposes: must be empty"),
    ({"fieldGrant": {"fields": ["familyName"]}}, r"spec.rules\[0\].fieldGrant.mode: field grant mode is unspecified"),
    ({"rateLimit": {"burst": 2}}, r"spec.rules\[0\].rateLimit: requests_per_second"),
])
def test_unclear_rule_is_refused(overrides: dict[str, Any], message: str) -> None:
    """A rule whose meaning is unclear makes the whole compile fail, naming policy and field."""
    body = rule("r", {"org": ORG_B})
    body.update(overrides)
    with pytest.raises(PolicyError, match=rf"AccessPolicy 131016/p: {message}"):
        compile_policies([*base_resources(), policy("p", body)])


def test_duplicate_rule_names_are_refused() -> None:
    """Two rules of one policy with one name would make decisions ambiguous in audits."""
    with pytest.raises(PolicyError, match="duplicate 'r'"):
        compile_policies([policy("p", rule("r", {"org": ORG_B}), rule("r", {"org": ORG_B}))])


def test_rules_of_several_policies_for_one_system_are_evaluated_together() -> None:
    """Two policies for one provider both count; other kinds among the resources are ignored."""
    table = compile_policies([*base_resources(),
                              policy("one", rule("a", {"spiffeIds": [KAIGO]}, purposes=["care-dispatch"])),
                              policy("two", rule("b", {"org": ORG_B}))])
    assert table.decide(KAIGO, GET, "care-dispatch", PROVIDER).rule == "one/a"
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).rule == "two/b"


def test_org_rule_needs_the_system_registry() -> None:
    """Without the System resources an org-wide rule matches nobody (never everybody)."""
    table = compile_policies([policy("p", rule("r", {"org": ORG_B}, purposes=[], purposeRequired=False))])
    assert not table.decide(KAIGO, GET, None, PROVIDER).allowed
