"""Access-policy cost: CPU µs per decision of mesh.policy's PolicyTable (the provider's
`decide`, the consumer's `egress`) on a table the size of a prefecture-wide mesh.

    python -m bench.policy [--rounds 5] [--seconds 0.2] [--out bench/results]

The table is compiled with `compile_policies` from resources built as an operator would write
them: 40 municipalities with 5 Systems each, 20 registered Purposes, and 3 providing Systems
per municipality, each with an AccessPolicy of 6 rules (SPIFFE-ID, system and org callers;
purposes, field grants, rate limits) over its 8 methods. Each case is one call as the sidecar
makes it, checked for the expected outcome first. Prints a markdown table; writes JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from bench.cputime import alternate
from certs.spiffe_id import workload_id
from mesh.policy import PolicyTable, RateLimiter, Reason, compile_policies, purpose_from_metadata
from mesh.resources import API_VERSION, from_dict
from mesh.translate.lgcode import add_check_digit

TRUST_DOMAIN = "bench.test"
ORGS = tuple(add_check_digit(f"{13 + i // 20:02d}{101 + i % 20:03d}") for i in range(40))
SYSTEMS = ("registry", "welfare", "kaigo", "clinic", "taxi")
PROVIDERS = ("registry", "kaigo", "clinic")
PURPOSES = tuple(f"purpose-{i:02d}" for i in range(20))
METHODS = ("Get", "List", "Search", "GetAddress", "GetHousehold", "Update", "Watch", "History")
_COMPILE_REPEATS = 5


def method(org: str, provider: str, index: int) -> str:
    """The exact path of a provider's `index`-th method."""
    return f"/city{org}.{provider}.v1.{provider.capitalize()}/{METHODS[index]}"


def caller(org: str, system: str) -> str:
    return workload_id(TRUST_DOMAIN, org, system)


def _doc(kind: str, name: str, spec: dict[str, Any], org: str = "") -> Message:
    metadata = {"name": name, **({"org": org} if org else {})}
    return from_dict({"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec})


def _rules(at: int, provider: str) -> list[dict[str, Any]]:
    """Six rules of `provider` in ORGS[at], naming neighbouring municipalities' systems."""
    org, near, far = ORGS[at], ORGS[(at + 1) % len(ORGS)], ORGS[(at + 7) % len(ORGS)]
    region = (near, far, ORGS[(at + 3) % len(ORGS)])

    def methods(*indexes: int) -> list[str]:
        return [method(org, provider, i) for i in indexes]

    def purposes(*indexes: int) -> list[str]:
        return [PURPOSES[(at + i) % len(PURPOSES)] for i in indexes]

    mask = {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["familyName"]}
    remove = {"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["address.postalCode", "phone"]}
    return [
        {"name": "neighbour-care", "callers": {"spiffeIds": [caller(near, "kaigo"), caller(far, "kaigo")]},
         "methods": methods(0, 1, 3), "purposes": purposes(0, 1), "fieldGrant": remove,
         "rateLimit": {"requestsPerSecond": 50, "burst": 100}},
        {"name": "own-systems", "callers": {"systems": [{"org": org, "name": s} for s in SYSTEMS[1:]]},
         "methods": methods(0, 1, 2, 3, 4, 5), "purposes": purposes(0, 2, 3)},
        {"name": "own-org-lookup", "callers": {"org": org}, "methods": methods(0, 2),
         "purposeRequired": False},
        {"name": "neighbour-org", "callers": {"org": near}, "methods": methods(0, 3, 4),
         "purposes": purposes(4), "fieldGrant": mask},
        {"name": "regional-clinics", "callers": {"systems": [{"org": o, "name": "clinic"} for o in region]},
         "methods": methods(0, 1, 6, 7), "purposes": purposes(5, 6),
         "rateLimit": {"requestsPerSecond": 20}},
        {"name": "auditor", "callers": {"spiffeIds": [caller(ORGS[0], "welfare")]},
         "methods": methods(*range(len(METHODS))), "purposes": purposes(7, 8, 9, 10)},
    ]


def resources() -> list[Message]:
    """Organizations, Systems, Purposes and AccessPolicies (Services are not read by the
    policy compiler, so they are left out)."""
    out = [_doc("Organization", org, {"type": "ORGANIZATION_TYPE_MUNICIPALITY", "displayName": org})
           for org in ORGS]
    out += [_doc("System", s, {"displayName": s, "spiffeId": caller(org, s)}, org)
            for org in ORGS for s in SYSTEMS]
    out += [_doc("Purpose", p, {"displayName": p, "legalBasis": "個人情報保護法第69条"})
            for p in PURPOSES]
    out += [_doc("AccessPolicy", f"{system}-access", {"system": system, "rules": _rules(at, system)}, org)
            for at, org in enumerate(ORGS) for system in PROVIDERS]
    return out


# (name, call, expected reason)
Check = tuple[str, Callable[[], Any], Reason | None]


def cases(table: PolicyTable) -> list[Check]:
    """One call per decision the sidecar makes, on the table's 6th municipality's registry.
    Every argument is computed once, outside the measured call."""
    at = 5
    org, near = ORGS[at], ORGS[at + 1]
    registry = (org, "registry")
    get, search, watch = (method(org, "registry", i) for i in (0, 2, 6))
    kaigo, welfare, clinic = caller(near, "kaigo"), caller(org, "welfare"), caller(near, "clinic")
    own_taxi, stranger = caller(org, "taxi"), caller(ORGS[30], "taxi")
    purpose, own_purpose, clinic_purpose = (PURPOSES[(at + i) % len(PURPOSES)] for i in (0, 2, 5))
    # A clock one second further on each call: the bucket always refills, so the measured
    # path is the token taken, never "rate limited".
    limiter = RateLimiter(clock=itertools.count(0.0, 1.0).__next__)
    metadata = [("content-type", "application/grpc"), ("user-agent", "grpc-python/1.85"),
                ("x-mesh-purpose", purpose), ("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
                ("x-request-id", "c8b2")]
    own_id, identity = welfare, caller(org, "registry")
    decide = table.decide
    return [
        ("decide: allowed, SPIFFE-ID rule (grant + limit), no limiter",
         lambda: decide(kaigo, get, purpose, registry), Reason.ALLOWED),
        ("decide: allowed, SPIFFE-ID rule, rate limit token taken",
         lambda: decide(kaigo, get, purpose, registry, limiter=limiter), Reason.ALLOWED),
        ("decide: allowed, system rule",
         lambda: decide(welfare, get, own_purpose, registry), Reason.ALLOWED),
        ("decide: allowed, org rule, no purpose",
         lambda: decide(own_taxi, get, None, registry), Reason.ALLOWED),
        ("decide: denied, caller not allowed",
         lambda: decide(stranger, get, purpose, registry), Reason.CALLER_NOT_ALLOWED),
        ("decide: denied, method not allowed",
         lambda: decide(clinic, search, purpose, registry), Reason.METHOD_NOT_ALLOWED),
        ("decide: denied, purpose not registered",
         lambda: decide(kaigo, get, "unknown-purpose", registry), Reason.PURPOSE_NOT_ALLOWED),
        ("decide: denied, no policy",
         lambda: decide(kaigo, get, purpose, (org, "taxi")), Reason.NO_POLICY),
        ("egress as the sidecar does it (system_of + decide)",
         lambda: table.egress(own_id, get, own_purpose, table.system_of(identity)), Reason.ALLOWED),
        ("egress without a provider (every provider naming the method)",
         lambda: table.egress(clinic, watch, clinic_purpose), Reason.ALLOWED),
        ("purpose_from_metadata (5 metadata entries)",
         lambda: purpose_from_metadata(metadata), None),
    ]


def check(measured: list[Check]) -> None:
    """Each case must decide what its name says, or the figures would describe another path."""
    for name, call, expected in measured:
        outcome = call()
        if expected is not None and outcome.reason is not expected:
            raise RuntimeError(f"{name}: decided {outcome.reason.value!r}, expected {expected.value!r}")


def table_size(table: PolicyTable) -> dict[str, int]:
    rules = sum(len(p.rules) for p in table.providers.values())
    return {"organizations": len(ORGS), "systems": len(table.systems), "purposes": len(table.purposes),
            "providers_with_policy": len(table.providers), "rules": rules,
            "methods": len(table.method_providers)}


def compile_ms(docs: list[Message]) -> float:
    """The best CPU time of compiling the whole table, in ms (done once per config snapshot)."""
    best = float("inf")
    for _ in range(_COMPILE_REPEATS):
        start = time.process_time()
        compile_policies(docs)
        best = min(best, time.process_time() - start)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.policy", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.2, help="CPU seconds per case per round")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds and --seconds must be positive")
    docs = resources()
    table = compile_policies(docs)
    measured = cases(table)
    check(measured)
    size, compiled = table_size(table), compile_ms(docs)
    results = alternate([(name, call) for name, call, _ in measured], args.rounds, args.seconds)
    print(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in size.items())
          + f"; compile_policies: {compiled:.1f} ms CPU (best of {_COMPILE_REPEATS})\n")
    print("| case | CPU µs / decision (median) | best round | decisions / s / core |\n|---|---:|---:|---:|")
    for r in results:
        median = r["us_per_call"]
        print(f"| {r['case']} | {median:.2f} | {r['best_us_per_call']:.2f} | {1e6 / median:,.0f} |")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"policy-{stamp}.json"
    path.write_text(json.dumps({"at": stamp, "rounds": args.rounds, "seconds": args.seconds, "table": size,
                                "compile_ms": compiled, "results": results}, ensure_ascii=False, indent=2),
                    encoding="utf-8")
    print(f"\nwritten to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
