"""The policy table: every compiled AccessPolicy rule of a config snapshot, and the decisions.

Immutable: a new config compiles a new table and swapping it in is one reference assignment.
Lookups go by exact provider, then exact method path (a dict key, compared byte for byte,
never a pattern), then caller. Reasons are checked in a fixed order, so that a caller with no
rights at all learns nothing about which methods exist: no policy → caller not allowed →
method not allowed → purpose not allowed (→ rate limited, when a limiter is given).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from mesh.policy.allowed import AllowedMethod
from mesh.policy.decision import Decision, Reason, deny
from mesh.policy.purpose import PURPOSE_NAME, InvalidPurpose
from mesh.policy.ratelimit import RateLimiter
from mesh.policy.rule import Rule, SystemKey

Purpose = str | None | InvalidPurpose


def _empty() -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProviderRules:
    """One providing System's rules: all of them, and by exact method path. Both are in
    precedence order (see access_policy.proto)."""

    rules: tuple[Rule, ...]
    by_method: Mapping[str, tuple[Rule, ...]]


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """The decisions of one config snapshot. An empty table denies everything."""

    providers: Mapping[SystemKey, ProviderRules] = field(default_factory=_empty)
    # Registered Systems: SPIFFE ID → (org, name), and back.
    systems: Mapping[str, SystemKey] = field(default_factory=_empty)
    spiffe_ids: Mapping[SystemKey, str] = field(default_factory=_empty)
    # Registered Purpose names.
    purposes: frozenset[str] = frozenset()
    # Method path → the providers whose rules name it, for the egress check.
    method_providers: Mapping[str, tuple[SystemKey, ...]] = field(default_factory=_empty)

    def system_of(self, spiffe_id: str) -> SystemKey | None:
        """The registered System with exactly this SPIFFE ID."""
        return self.systems.get(spiffe_id)

    def decide(self, caller: str, method: str, purpose: Purpose, provider_system: SystemKey,
               *, limiter: RateLimiter | None = None) -> Decision:
        """The provider's (authoritative) decision on `caller` calling `method` of
        `provider_system` with `purpose`. With `limiter`, an allowed call also takes a token
        from its rule's bucket for this caller, and is refused "rate limited" without one."""
        provider = self.providers.get(provider_system)
        if provider is None:
            return deny(Reason.NO_POLICY, "the providing system has no access policy")
        decision = self._evaluate(provider, caller, method, purpose)
        if (limiter is not None and decision.allowed and decision.rate_limit is not None
                and not limiter.try_acquire(decision.rate_key, decision.rate_limit)):
            return replace(decision, allowed=False, reason=Reason.RATE_LIMITED,
                           detail=f"at most {decision.rate_limit.requests_per_second:g} calls/s, "
                                  f"burst {decision.rate_limit.burst}")
        return decision

    def egress(self, consumer: str, method: str, purpose: Purpose,
               provider_system: SystemKey | None = None) -> Decision:
        """The consumer's egress check: does some policy let `consumer` call `method` with
        `purpose` at all? It takes no rate-limit token and never replaces `decide` at the
        provider. With `provider_system`, only that provider's policies count."""
        if provider_system is not None:
            return self.decide(consumer, method, purpose, provider_system)
        providers = self.method_providers.get(method, ()) if isinstance(method, str) else ()
        if not providers:
            return deny(Reason.NO_POLICY, "no access policy names this method")
        first: Decision | None = None
        for key in providers:
            decision = self._evaluate(self.providers[key], consumer, method, purpose)
            if decision.allowed:
                return decision
            first = first or decision
        assert first is not None
        return first

    def _evaluate(self, provider: ProviderRules, caller: str, method: str, purpose: Purpose) -> Decision:
        caller_system = self.systems.get(caller) if isinstance(caller, str) else None
        rules = provider.by_method.get(method, ()) if isinstance(method, str) else ()
        candidates = [r for r in rules if r.admits_caller(caller, caller_system)]
        if not candidates:
            if any(r.admits_caller(caller, caller_system) for r in provider.rules):
                return deny(Reason.METHOD_NOT_ALLOWED)
            return deny(Reason.CALLER_NOT_ALLOWED)
        if isinstance(purpose, InvalidPurpose):
            return deny(Reason.PURPOSE_NOT_ALLOWED, purpose.reason)
        if purpose is not None and purpose not in self.purposes:
            shown = repr(purpose) if isinstance(purpose, str) and PURPOSE_NAME.match(purpose) else "stated"
            return deny(Reason.PURPOSE_NOT_ALLOWED, f"purpose {shown} is not registered")
        for rule in candidates:
            if rule.admits_purpose(purpose):
                return rule.allow_for(caller)
        if purpose is None:
            return deny(Reason.PURPOSE_NOT_ALLOWED, "no purpose stated")
        return deny(Reason.PURPOSE_NOT_ALLOWED, f"purpose {purpose!r} is not allowed for this call")

    def allowed_for(self, consumer: str) -> list[AllowedMethod]:
        """Every method `consumer` may call, for which purposes, on which terms: one entry per
        (method, provider, winning rule), sorted by method then provider."""
        consumer_system = self.systems.get(consumer)
        entries = []
        for key, provider in self.providers.items():
            for method, rules in provider.by_method.items():
                admitted = [r for r in rules if r.admits_caller(consumer, consumer_system)]
                entries += self._terms(key, method, admitted)
        return sorted(entries, key=lambda e: (e.method, e.provider, e.rule))

    def _terms(self, provider: SystemKey, method: str, rules: list[Rule]) -> list[AllowedMethod]:
        """Which rule wins each purpose (and no purpose), grouped by rule."""
        stated = sorted({p for r in rules for p in r.purposes if p in self.purposes})
        won: dict[str, list[str]] = {}
        no_purpose_winner: Rule | None = None
        for purpose in (None, *stated):
            winner = next((r for r in rules if r.admits_purpose(purpose)), None)
            if winner is None:
                continue
            if purpose is None:
                no_purpose_winner = winner
            elif purpose in winner.purposes:
                won.setdefault(winner.ref, []).append(purpose)
        entries = []
        for rule in rules:
            if rule.ref not in won and rule is not no_purpose_winner:
                continue
            entries.append(AllowedMethod(
                method=method, provider=provider, provider_spiffe_id=self.spiffe_ids.get(provider, ""),
                purposes=tuple(won.get(rule.ref, ())), purpose_required=rule.purpose_required,
                field_grant=rule.field_grant, rate_limit=rule.rate_limit, rule=rule.ref))
        return entries
