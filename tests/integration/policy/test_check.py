"""AccessPolicy through the real control plane (etcd with TLS and auth): apply and validation
through meshctl, reference checks, and `meshctl check` exit codes against the live config."""

from __future__ import annotations

import pytest
import pytest_asyncio

from control_plane.localmesh import LocalMesh
from demo.resources import CITY_A, CITY_B, doc, dump, registry_mesh, system

pytestmark = pytest.mark.asyncio(loop_scope="module")
GET = "/demo.v1.ResidentRegistry/GetResident"


def _policy(**rule_overrides: object) -> dict:
    body = {"name": "welfare-lookup", "callers": {"systems": [{"org": CITY_A, "name": "welfare"}]},
            "methods": [GET], "purposes": ["welfare-eligibility"],
            "fieldGrant": {"mode": "FIELD_GRANT_MODE_REMOVE", "fields": ["shimei", "jusho"]},
            "rateLimit": {"requestsPerSecond": 5}}
    body.update(rule_overrides)
    return doc("AccessPolicy", "registry-access", {"system": "registry", "rules": [body]}, CITY_A)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    local = LocalMesh(tmp_path_factory.mktemp("cp"), trust_domain="tsunagi.test")
    local.add_operator("admin", "platform-admin")
    local.add_operator("alice", "org-admin", CITY_A)
    local.add_operator("yoko", "org-admin", CITY_B)
    await local.start()
    platform, city = registry_mesh(local.trust_domain, "127.0.0.1:15443")
    assert local.meshctl("admin", "apply", "-f", "-", input=platform).returncode == 0
    city += dump(system(local.trust_domain, CITY_B, "kaigo", "介護"))
    assert local.meshctl("admin", "apply", "-f", "-", input=city).returncode == 0
    result = local.meshctl("alice", "apply", "-f", "-", input=dump(_policy()))
    assert result.returncode == 0, result.stderr
    yield local
    await local.stop()


def _check(mesh: LocalMesh, operator: str, caller: str, method: str, purpose: str = ""):  # type: ignore[no-untyped-def]
    args = ["check", "--caller", f"spiffe://{mesh.trust_domain}/org/{caller}", "--method", method]
    return mesh.meshctl(operator, *args, *(["--purpose", purpose] if purpose else []))


async def test_check_explains_an_allowed_call(mesh: LocalMesh) -> None:
    """Exit 0 with the matching rule and its field grant, from the live config."""
    result = _check(mesh, "alice", f"{CITY_A}/sys/welfare", GET, "welfare-eligibility")
    assert result.returncode == 0, result.stderr
    assert "policy:          131016/registry-access rule welfare-lookup" in result.stdout
    assert "fields:          shimei, jusho (others: REMOVE)" in result.stdout


async def test_check_explains_a_denial(mesh: LocalMesh) -> None:
    """Exit 1 with the reason: a wrong purpose, a path trick."""
    wrong = _check(mesh, "alice", f"{CITY_A}/sys/welfare", GET, "tourism")
    assert wrong.returncode == 1 and "denied: purpose not allowed" in wrong.stdout
    trick = _check(mesh, "alice", f"{CITY_A}/sys/welfare", GET.replace("/GetResident", "//GetResident"),
                   "welfare-eligibility")
    assert trick.returncode == 1 and "denied: method not allowed" in trick.stdout


async def test_check_errors_exit_2(mesh: LocalMesh) -> None:
    """A malformed caller is INVALID_ARGUMENT with its field: exit 2, not a denial."""
    result = mesh.meshctl("alice", "check", "--caller", "welfare", "--method", GET)
    assert result.returncode == 2 and "error: caller: not a SPIFFE ID" in result.stderr


async def test_caller_org_admin_may_check_but_not_write_the_policy(mesh: LocalMesh) -> None:
    """The caller's org-admin gets explanations of their own system's calls, and cannot
    write the provider's policy."""
    result = _check(mesh, "yoko", f"{CITY_B}/sys/kaigo", GET, "welfare-eligibility")
    assert result.returncode == 1 and "denied: caller not allowed" in result.stdout
    forbidden = mesh.meshctl("yoko", "apply", "-f", "-", input=dump(_policy()))
    assert forbidden.returncode == 1 and "PERMISSION_DENIED" in forbidden.stderr


async def test_invalid_policy_lists_every_error_with_its_path(mesh: LocalMesh) -> None:
    """Unknown purpose, method and field: all reported with field paths, nothing written."""
    bad = _policy(methods=["/demo.v1.ResidentRegistry/GetResidents"], purposes=["nope"],
                  fieldGrant={"mode": "FIELD_GRANT_MODE_MASK", "fields": ["family_name"]})
    result = mesh.meshctl("alice", "apply", "-f", "-", input=dump(bad))
    assert result.returncode == 1
    for expected in ("spec.rules[0].methods[0]: '/demo.v1.ResidentRegistry/GetResidents' is not a method",
                     "spec.rules[0].purposes[0]: purpose 'nope' is not registered"):
        assert f"AccessPolicy 131016/registry-access: {expected}" in result.stderr, result.stderr


async def test_deleting_a_purpose_in_use_is_refused(mesh: LocalMesh) -> None:
    """The Purpose registry cannot lose a purpose a policy relies on."""
    result = mesh.meshctl("admin", "delete", "purpose", "welfare-eligibility")
    assert result.returncode == 1
    assert "AccessPolicy 131016/registry-access: spec.rules[0].purposes[0]" in result.stderr
