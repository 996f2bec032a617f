"""`meshctl check`: the server-side explanation, who may ask, and the CLI's output and exit codes."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from certs.ca import create_intermediate, create_root, issue_workload
from control_plane import commands
from control_plane.authz import Authorizer, Binding
from control_plane.check import explain
from control_plane.config_service import ConfigService
from control_plane.errors import Forbidden, Invalid
from control_plane.validate import ref_of
from mesh.v1 import access_policy_pb2
from mesh.v1 import control_plane_pb2 as api
from tests.unit.policy.world import (
    CLINIC,
    GET,
    KAIGO,
    LIST,
    ORG_A,
    ORG_B,
    REGISTRY,
    TAXI,
    TD,
    base_resources,
    policy,
    rule,
)

RESOURCES = [*base_resources(), policy(
    "registry-access",
    rule("kaigo", {"spiffeIds": [KAIGO]}, [GET], ["care-dispatch"],
         fieldGrant={"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["familyName", "address.postalCode"]},
         rateLimit={"requestsPerSecond": 5, "burst": 10}))]


def _check(caller: str, method: str, purpose: str = "") -> api.CheckResponse:
    return explain(RESOURCES, api.CheckRequest(caller=caller, method=method, purpose=purpose), TD, 42).response


def test_allowed_call_is_explained() -> None:
    """The rule that matched, its policy and org, the field grant and the rate limit."""
    response = _check(KAIGO, GET, "care-dispatch")
    assert response.allowed and response.reason == "allowed"
    assert (response.policy_org, response.policy, response.rule) == (ORG_A, "registry-access", "kaigo")
    assert response.provider == REGISTRY and response.config_version == 42
    assert response.field_grant.mode == access_policy_pb2.FIELD_GRANT_MODE_REMOVE
    assert list(response.field_grant.fields) == ["familyName", "address.postalCode"]
    assert (response.rate_limit.requests_per_second, response.rate_limit.burst) == (5, 10)


@pytest.mark.parametrize(("caller", "method", "purpose", "reason", "detail"), [
    (KAIGO, GET, "", "purpose not allowed", "no purpose stated"),
    (KAIGO, GET, "welfare-eligibility", "purpose not allowed", "purpose 'welfare-eligibility' is not allowed for this call"),
    (KAIGO, GET, "Not A Purpose", "purpose not allowed", "x-mesh-purpose is not a purpose name"),
    (KAIGO, LIST, "care-dispatch", "method not allowed", ""),
    (KAIGO, GET + "/", "care-dispatch", "method not allowed", ""),
    (TAXI, GET, "care-dispatch", "caller not allowed", ""),
    (KAIGO, "/other.v1.Svc/M", "care-dispatch", "no policy", ""),
])
def test_denied_call_is_explained(caller: str, method: str, purpose: str, reason: str, detail: str) -> None:
    """A denial says why, names no rule and grants nothing."""
    response = _check(caller, method, purpose)
    assert not response.allowed and response.reason == reason and response.detail.startswith(detail)
    assert response.rule == "" and not response.HasField("field_grant") and not response.HasField("rate_limit")


def test_provider_is_named_even_when_denied() -> None:
    """The providing System comes from the Service of the method's gRPC service."""
    assert _check(TAXI, GET, "care-dispatch").provider == REGISTRY
    assert _check(KAIGO, "/other.v1.Svc/M").provider == ""


@pytest.mark.parametrize(("request_", "fields"), [
    (api.CheckRequest(), {"caller", "method"}),
    (api.CheckRequest(caller="kaigo", method=GET), {"caller"}),
    (api.CheckRequest(caller="spiffe://other.test/org/141003/sys/kaigo", method=GET), {"caller"}),
    (api.CheckRequest(caller=f"spiffe://{TD}/org/141003/operator/bob", method=GET), {"caller"}),
    (api.CheckRequest(caller=KAIGO, method="/" + "a" * 9000), {"method"}),
])
def test_bad_request_lists_every_problem(request_: api.CheckRequest, fields: set[str]) -> None:
    """INVALID_ARGUMENT with a field path for each problem."""
    with pytest.raises(Invalid) as raised:
        explain(RESOURCES, request_, TD, 1)
    assert {e.path for e in raised.value.errors} == fields


# -- who may ask -------------------------------------------------------------------------

@dataclass
class _Loaded:
    objects: dict[tuple[str, str, str], Message]
    version: int = 9


@dataclass
class _Repository:
    trust_domain: str = TD
    objects: dict[tuple[str, str, str], Message] = field(default_factory=lambda: {ref_of(m): m for m in RESOURCES})

    async def load(self) -> _Loaded:
        return _Loaded(self.objects)


class _Context:
    def __init__(self, pem: bytes) -> None:
        self._pem = pem

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": [self._pem]}


@pytest.fixture(scope="module")
def operators() -> dict[str, bytes]:
    """Client certificates of four operators, by name."""
    intermediate = create_intermediate(create_root(trust_domain=TD))
    return {name: issue_workload(intermediate, f"spiffe://{TD}/org/{org}/operator/{name}").cert_pem()
            for name, org in (("viewer", ORG_A), ("a-admin", ORG_A), ("b-admin", ORG_B), ("c-admin", "271004"),
                              ("nobody", ORG_A))}


def _service() -> ConfigService:
    def op(name: str, org: str) -> str:
        return f"spiffe://{TD}/org/{org}/operator/{name}"

    authz = Authorizer([Binding(op("viewer", ORG_A), "viewer"), Binding(op("a-admin", ORG_A), "org-admin", ORG_A),
                        Binding(op("b-admin", ORG_B), "org-admin", ORG_B),
                        Binding(op("c-admin", "271004"), "org-admin", "271004")])
    return ConfigService(_Repository(), authz)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["viewer", "a-admin", "b-admin"])
async def test_viewers_and_admins_of_provider_or_caller_org_may_check(operators: dict[str, bytes], name: str) -> None:
    """Viewers, the provider's org-admins and the caller's org-admins get the explanation."""
    response = await _service().Check(api.CheckRequest(caller=KAIGO, method=GET, purpose="care-dispatch"),
                                      _Context(operators[name]))  # type: ignore[arg-type]
    assert response.allowed and response.config_version == 9


@pytest.mark.parametrize("name", ["c-admin", "nobody"])
async def test_others_may_not_check(operators: dict[str, bytes], name: str) -> None:
    """An org-admin of an unrelated org, or an identity with no role, is refused."""
    with pytest.raises(Forbidden):
        await _service().Check(api.CheckRequest(caller=KAIGO, method=GET, purpose="care-dispatch"),
                               _Context(operators[name]))  # type: ignore[arg-type]


async def test_clinic_admin_may_check_their_own_system(operators: dict[str, bytes]) -> None:
    """The caller's org is the caller's: an org-admin of 271004 may check the clinic's calls."""
    response = await _service().Check(api.CheckRequest(caller=CLINIC, method=GET, purpose="care-dispatch"),
                                      _Context(operators["c-admin"]))  # type: ignore[arg-type]
    assert not response.allowed and response.reason == "caller not allowed"


# -- the CLI -----------------------------------------------------------------------------

class _Config:
    def __init__(self, outcome: api.CheckResponse | grpc.RpcError) -> None:
        self._outcome = outcome

    def Check(self, request: api.CheckRequest, timeout: float) -> api.CheckResponse:
        if isinstance(self._outcome, grpc.RpcError):
            raise self._outcome
        return self._outcome


@dataclass
class _Connection:
    config: Any

    def close(self) -> None:
        pass


class _Unavailable(grpc.RpcError):
    def trailing_metadata(self) -> tuple[()]:
        return ()

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "etcd: down"


def _meshctl(monkeypatch: pytest.MonkeyPatch, outcome: api.CheckResponse | grpc.RpcError, *argv: str) -> int:
    monkeypatch.setattr(commands, "connect", lambda *_: _Connection(_Config(outcome)))
    parser = argparse.ArgumentParser()
    commands.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["check", "--caller", KAIGO, "--method", GET, *argv])
    return int(args.func(args))


def test_cli_prints_an_allowed_decision_and_exits_0(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0; the decision, rule, fields and rate limit are printed one per line."""
    code = _meshctl(monkeypatch, _check(KAIGO, GET, "care-dispatch"), "--purpose", "care-dispatch")
    out = capsys.readouterr().out
    assert code == 0
    assert "decision:        allowed\n" in out
    assert "policy:          131016/registry-access rule kaigo\n" in out
    assert "fields:          familyName, address.postalCode (others: REMOVE)\n" in out
    assert "rate limit:      5/s, burst 10, per caller\n" in out


def test_cli_prints_a_denial_and_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 with the reason and its detail."""
    code = _meshctl(monkeypatch, _check(KAIGO, GET))
    out = capsys.readouterr().out
    assert code == 1
    assert "decision:        denied: purpose not allowed (no purpose stated)\n" in out
    assert "policy:          none (default deny)\n" in out


def test_cli_json_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """-o json prints the response with every field, and keeps the exit code."""
    import json

    assert _meshctl(monkeypatch, _check(KAIGO, GET), "-o", "json") == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "purpose not allowed"


def test_cli_error_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An RPC failure is an error, not a denial: exit 2 and `error:` on stderr."""
    assert _meshctl(monkeypatch, _Unavailable()) == 2
    assert capsys.readouterr().err == "error: UNAVAILABLE: etcd: down\n"
