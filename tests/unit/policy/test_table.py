"""The decision table: allow, each deny reason, caller kinds, precedence, egress and the
allowed-methods answer."""

from __future__ import annotations

import grpc
import pytest

from mesh.policy import (
    GrantMode,
    InvalidPurpose,
    PolicyTable,
    Reason,
    compile_policies,
    to_allowed_methods_response,
)
from tests.unit.policy.world import (
    ADDRESS,
    CLINIC,
    GET,
    KAIGO,
    LIST,
    ORG_A,
    ORG_B,
    ORG_C,
    PROVIDER,
    REGISTRY,
    TAXI,
    UNREGISTERED,
    WELFARE,
    base_resources,
    policy,
    rule,
)

REMOVE_NAME_POSTAL = {"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["familyName", "address.postalCode"]}
MASK_NAME = {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["familyName"]}


def _table() -> PolicyTable:
    return compile_policies([
        *base_resources(),
        policy("registry-access",
               rule("kaigo-exact", {"spiffeIds": [KAIGO]}, [GET, LIST], ["care-dispatch"],
                    fieldGrant=REMOVE_NAME_POSTAL, rateLimit={"requestsPerSecond": 2, "burst": 2}),
               rule("org-b", {"org": ORG_B}, [GET], ["welfare-eligibility"], fieldGrant=MASK_NAME,
                    rateLimit={"requestsPerSecond": 1}),
               rule("welfare-sys", {"systems": [{"org": ORG_A, "name": "welfare"}]}, [GET, ADDRESS], [],
                    purposeRequired=False)),
        policy("aaa-clinic", rule("clinic", {"org": ORG_C}, [ADDRESS], ["tax-assessment"])),
    ])


TABLE = _table()

DECISIONS = [
    # (caller, method, purpose, provider, allowed, reason, rule)
    (KAIGO, GET, "care-dispatch", PROVIDER, True, Reason.ALLOWED, "registry-access/kaigo-exact"),
    (KAIGO, LIST, "care-dispatch", PROVIDER, True, Reason.ALLOWED, "registry-access/kaigo-exact"),
    (KAIGO, GET, "welfare-eligibility", PROVIDER, True, Reason.ALLOWED, "registry-access/org-b"),
    (TAXI, GET, "welfare-eligibility", PROVIDER, True, Reason.ALLOWED, "registry-access/org-b"),
    (WELFARE, GET, None, PROVIDER, True, Reason.ALLOWED, "registry-access/welfare-sys"),
    (WELFARE, GET, "tax-assessment", PROVIDER, True, Reason.ALLOWED, "registry-access/welfare-sys"),
    (WELFARE, ADDRESS, None, PROVIDER, True, Reason.ALLOWED, "registry-access/welfare-sys"),
    (CLINIC, ADDRESS, "tax-assessment", PROVIDER, True, Reason.ALLOWED, "aaa-clinic/clinic"),
    (KAIGO, GET, "care-dispatch", (ORG_B, "taxi"), False, Reason.NO_POLICY, ""),
    (KAIGO, GET, "care-dispatch", (ORG_A, "nonexistent"), False, Reason.NO_POLICY, ""),
    (REGISTRY, GET, "welfare-eligibility", PROVIDER, False, Reason.CALLER_NOT_ALLOWED, ""),
    (UNREGISTERED, GET, "welfare-eligibility", PROVIDER, False, Reason.CALLER_NOT_ALLOWED, ""),
    (KAIGO + "x", GET, "care-dispatch", PROVIDER, False, Reason.CALLER_NOT_ALLOWED, ""),
    (KAIGO.upper(), GET, "care-dispatch", PROVIDER, False, Reason.CALLER_NOT_ALLOWED, ""),
    (TAXI, LIST, "welfare-eligibility", PROVIDER, False, Reason.METHOD_NOT_ALLOWED, ""),
    (TAXI, ADDRESS, "welfare-eligibility", PROVIDER, False, Reason.METHOD_NOT_ALLOWED, ""),
    (WELFARE, LIST, None, PROVIDER, False, Reason.METHOD_NOT_ALLOWED, ""),
    (CLINIC, GET, "tax-assessment", PROVIDER, False, Reason.METHOD_NOT_ALLOWED, ""),
    (TAXI, GET, "care-dispatch", PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (TAXI, GET, None, PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (TAXI, GET, "not-registered", PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (WELFARE, GET, "not-registered", PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (TAXI, GET, InvalidPurpose("two values"), PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (WELFARE, GET, InvalidPurpose("two values"), PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
    (CLINIC, ADDRESS, None, PROVIDER, False, Reason.PURPOSE_NOT_ALLOWED, ""),
]


@pytest.mark.parametrize(("caller", "method", "purpose", "provider", "allowed", "reason", "rule_ref"), DECISIONS)
def test_decision_table(caller, method, purpose, provider, allowed, reason, rule_ref) -> None:  # type: ignore[no-untyped-def]
    """Each call gets exactly the expected decision, reason and deciding rule."""
    decision = TABLE.decide(caller, method, purpose, provider)
    assert (decision.allowed, decision.reason, decision.rule) == (allowed, reason, rule_ref)
    assert decision.status == (grpc.StatusCode.OK if allowed else grpc.StatusCode.PERMISSION_DENIED)
    if not allowed:
        assert decision.field_grant is None and decision.rate_limit is None and decision.rate_key is None


def test_empty_table_denies_everything() -> None:
    """With no config at all the answer is a default deny, never an allow."""
    decision = PolicyTable().decide(KAIGO, GET, "care-dispatch", PROVIDER)
    assert not decision.allowed and decision.reason is Reason.NO_POLICY


def test_allowed_decision_carries_the_rules_grant_and_limit() -> None:
    """The winning rule's field grant and rate limit come with the decision."""
    exact = TABLE.decide(KAIGO, GET, "care-dispatch", PROVIDER)
    assert exact.field_grant is not None and exact.field_grant.mode is GrantMode.REMOVE
    assert exact.field_grant.fields == ("familyName", "address.postalCode")
    assert exact.rate_limit is not None and (exact.rate_limit.requests_per_second, exact.rate_limit.burst) == (2, 2)
    assert exact.rate_key == (ORG_A, "registry-access", "kaigo-exact", KAIGO) and exact.policy_org == ORG_A
    org_wide = TABLE.decide(TAXI, GET, "welfare-eligibility", PROVIDER)
    assert org_wide.field_grant is not None and org_wide.field_grant.mode is GrantMode.MASK
    assert org_wide.rate_limit is not None and org_wide.rate_limit.burst == 1  # default: ceil(rate)
    unlimited = TABLE.decide(WELFARE, GET, None, PROVIDER)
    assert unlimited.field_grant is None and unlimited.rate_limit is None and unlimited.rate_key is None


@pytest.mark.parametrize(("purpose", "detail"), [
    (None, "no purpose stated"),
    ("not-registered", "purpose 'not-registered' is not registered"),
    ("care-dispatch", "purpose 'care-dispatch' is not allowed for this call"),
    (InvalidPurpose("x-mesh-purpose must have exactly one value, got 2"),
     "x-mesh-purpose must have exactly one value, got 2"),
])
def test_purpose_refusals_say_why(purpose, detail) -> None:  # type: ignore[no-untyped-def]
    """A missing, unregistered, unlisted or malformed purpose is refused with its reason."""
    decision = TABLE.decide(TAXI, GET, purpose, PROVIDER)
    assert decision.reason is Reason.PURPOSE_NOT_ALLOWED and decision.detail == detail
    assert decision.message("sidecar spiffe://x") == f"sidecar spiffe://x: purpose not allowed ({detail})"


def test_unregistered_purpose_with_unshaped_value_is_not_echoed() -> None:
    """A purpose that is not even a name is refused without repeating it."""
    decision = TABLE.decide(TAXI, GET, "Evil\nvalue", PROVIDER)
    assert decision.reason is Reason.PURPOSE_NOT_ALLOWED and "Evil" not in decision.detail


def _precedence_table(*policies):  # type: ignore[no-untyped-def]
    return compile_policies([*base_resources(), *policies])


def test_exact_spiffe_id_wins_over_listed_system_and_org() -> None:
    """Most specific caller match wins, whatever the policy names and rule order say."""
    table = _precedence_table(
        policy("a-org", rule("org", {"org": ORG_B}, fieldGrant=MASK_NAME)),
        policy("b-sys", rule("sys", {"systems": [{"org": ORG_B, "name": "kaigo"}]}, fieldGrant=REMOVE_NAME_POSTAL)),
        policy("c-id", rule("id", {"spiffeIds": [KAIGO]})),
    )
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).rule == "c-id/id"
    assert table.decide(TAXI, GET, "welfare-eligibility", PROVIDER).rule == "a-org/org"


def test_listed_system_wins_over_org() -> None:
    """A rule listing the System beats an org-wide rule."""
    table = _precedence_table(
        policy("a-org", rule("org", {"org": ORG_B})),
        policy("b-sys", rule("sys", {"systems": [{"org": ORG_B, "name": "kaigo"}]})),
    )
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).rule == "b-sys/sys"


def test_equally_specific_rules_go_by_policy_name_then_rule_order() -> None:
    """Ties go to the first policy by name, then the first rule in it; rules never combine."""
    table = _precedence_table(
        policy("zz", rule("first", {"org": ORG_B})),
        policy("mm", rule("second", {"org": ORG_B}, fieldGrant=MASK_NAME), rule("first", {"org": ORG_B})),
    )
    decision = table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER)
    assert decision.rule == "mm/second" and decision.field_grant is not None


def test_more_specific_rule_without_the_purpose_does_not_block_a_broader_one() -> None:
    """Rules only allow: a specific rule that does not admit the purpose leaves others to."""
    table = _precedence_table(
        policy("p", rule("id", {"spiffeIds": [KAIGO]}, purposes=["care-dispatch"]),
               rule("org", {"org": ORG_B}, purposes=["welfare-eligibility"])))
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).rule == "p/org"


def test_policies_of_another_provider_never_apply() -> None:
    """A policy for system X never allows calls to system Y, even for the same method."""
    table = _precedence_table(policy("p", rule("r", {"org": ORG_B}), system="welfare"))
    assert table.decide(KAIGO, GET, "welfare-eligibility", (ORG_A, "welfare")).allowed
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).reason is Reason.NO_POLICY


def test_org_rule_does_not_admit_lookalike_orgs() -> None:
    """Org matching is by the registered System's org, exactly: not a prefix or suffix."""
    table = _precedence_table(policy("p", rule("r", {"org": "14100"})))
    assert table.decide(KAIGO, GET, "welfare-eligibility", PROVIDER).reason is Reason.CALLER_NOT_ALLOWED


def test_egress_allows_what_some_policy_allows() -> None:
    """The consumer's check finds the provider by the method and applies its policy."""
    assert TABLE.egress(KAIGO, GET, "care-dispatch").allowed
    assert TABLE.egress(KAIGO, GET, "care-dispatch", PROVIDER).allowed
    assert TABLE.egress(CLINIC, ADDRESS, "tax-assessment").rule == "aaa-clinic/clinic"


@pytest.mark.parametrize(("caller", "method", "purpose", "reason"), [
    (KAIGO, "/other.v1.Svc/M", "care-dispatch", Reason.NO_POLICY),
    (REGISTRY, GET, "care-dispatch", Reason.CALLER_NOT_ALLOWED),
    (TAXI, LIST, "welfare-eligibility", Reason.METHOD_NOT_ALLOWED),
    (TAXI, GET, "care-dispatch", Reason.PURPOSE_NOT_ALLOWED),
])
def test_egress_denials(caller, method, purpose, reason) -> None:  # type: ignore[no-untyped-def]
    """What the provider would refuse, the consumer's egress check refuses, for the same reason."""
    decision = TABLE.egress(caller, method, purpose)
    assert not decision.allowed and decision.reason is reason


def test_egress_with_another_provider_is_refused() -> None:
    """Naming the wrong provider gives no policy, even for a method allowed elsewhere."""
    assert TABLE.egress(KAIGO, GET, "care-dispatch", (ORG_B, "taxi")).reason is Reason.NO_POLICY


def test_allowed_for_lists_methods_purposes_and_terms() -> None:
    """KAIGO sees GetPerson twice (different terms per purpose) and ListPeople once."""
    entries = TABLE.allowed_for(KAIGO)
    summary = [(e.method, e.purposes, e.purpose_required, e.rule) for e in entries]
    assert summary == [
        (GET, ("care-dispatch",), True, "registry-access/kaigo-exact"),
        (GET, ("welfare-eligibility",), True, "registry-access/org-b"),
        (LIST, ("care-dispatch",), True, "registry-access/kaigo-exact"),
    ]
    assert {e.provider_spiffe_id for e in entries} == {REGISTRY}


def test_allowed_for_a_system_needing_no_purpose() -> None:
    """A rule requiring no purpose shows as purpose_required false with no purposes."""
    entries = TABLE.allowed_for(WELFARE)
    assert [(e.method, e.purposes, e.purpose_required) for e in entries] == [(ADDRESS, (), False), (GET, (), False)]


def test_allowed_for_a_caller_with_no_rights_is_empty() -> None:
    """Nothing is listed for the provider itself or an unregistered identity."""
    assert TABLE.allowed_for(REGISTRY) == [] and TABLE.allowed_for(UNREGISTERED) == []


def test_allowed_methods_response_filters_by_service() -> None:
    """The wire answer carries terms, and a service filter keeps only that service."""
    response = to_allowed_methods_response(KAIGO, TABLE.allowed_for(KAIGO), 7)
    assert response.consumer == KAIGO and response.config_version == 7 and len(response.methods) == 3
    first = response.methods[0]
    assert first.provider == REGISTRY and list(first.field_grant.fields) == ["familyName", "address.postalCode"]
    assert (first.rate_limit.requests_per_second, first.rate_limit.burst) == (2, 2)
    assert len(to_allowed_methods_response(KAIGO, TABLE.allowed_for(KAIGO), 7, "test.policy.v1.People").methods) == 3
    assert not to_allowed_methods_response(KAIGO, TABLE.allowed_for(KAIGO), 7, "test.policy.v1.Peopl").methods
