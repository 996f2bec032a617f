"""The control plane's API through meshctl, against a real etcd with TLS and auth."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
import yaml

from control_plane.localmesh import LocalMesh
from demo.resources import CITY_A, CITY_B, dump, registry_mesh, route, system
from mesh import keys
from mesh.store.errors import StorePermissionDenied

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    local = LocalMesh(tmp_path_factory.mktemp("cp"), trust_domain="tsunagi.test")
    local.add_operator("admin", "platform-admin")
    local.add_operator("alice", "org-admin", CITY_A)
    local.add_operator("yoko", "org-admin", CITY_B)
    local.add_operator("vera", "viewer")
    await local.start()
    platform, city = registry_mesh(local.trust_domain, "127.0.0.1:15443")
    assert local.meshctl("admin", "apply", "-f", "-", input=platform).returncode == 0
    result = local.meshctl("alice", "apply", "-f", "-", input=city)
    assert result.returncode == 0, result.stderr
    yield local
    await local.stop()


async def _revision(mesh: LocalMesh) -> int:
    store = mesh.etcd.store_for("root")
    try:
        return await store.current_revision()
    finally:
        await store.close()


async def test_apply_reports_created_then_unchanged(mesh: LocalMesh) -> None:
    """Re-applying the same documents writes nothing and says `unchanged`."""
    _, city = registry_mesh(mesh.trust_domain, "127.0.0.1:15443")
    before = await _revision(mesh)
    result = mesh.meshctl("alice", "apply", "-f", "-", input=city)
    assert result.returncode == 0, result.stderr
    assert "route/131016/welfare-to-registry unchanged" in result.stdout.splitlines()
    assert await _revision(mesh) == before


async def test_get_prints_yaml_json_and_wide(mesh: LocalMesh) -> None:
    """get -o yaml|json|wide show the stored object with system fields."""
    out = mesh.meshctl("vera", "get", "route", "welfare-to-registry", "--org", CITY_A, "-o", "json")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["spec"]["grpcService"] == "demo.v1.ResidentRegistry"
    assert obj["metadata"]["generation"] == "1" and obj["metadata"]["resourceVersion"]
    assert obj["status"]["conditions"][0]["type"] == "Accepted"
    docs = list(yaml.safe_load_all(mesh.meshctl("vera", "get", "systems", "-o", "yaml").stdout))
    assert {d["metadata"]["name"] for d in docs} == {"registry", "welfare"}
    wide = mesh.meshctl("vera", "get", "routes", "-o", "wide").stdout
    assert "welfare → demo.v1.ResidentRegistry" in wide


async def test_diff_exit_codes(mesh: LocalMesh) -> None:
    """diff exits 0 with no change, 1 with a change (and prints it), >1 on error."""
    same = dump(route(CITY_A, "welfare-to-registry", "welfare", "demo.v1.ResidentRegistry"))
    assert mesh.meshctl("alice", "diff", "-f", "-", input=same).returncode == 0
    changed = dump(route(CITY_A, "welfare-to-registry", "welfare", "demo.v1.ResidentRegistry", "20s"))
    result = mesh.meshctl("alice", "diff", "-f", "-", input=changed)
    assert result.returncode == 1 and "+  timeout: 20s" in result.stdout
    broken = dump(route(CITY_A, "welfare-to-registry", "nobody", "demo.v1.ResidentRegistry"))
    assert mesh.meshctl("alice", "diff", "-f", "-", input=broken).returncode == 2


async def test_invalid_apply_lists_every_error_and_writes_nothing(mesh: LocalMesh) -> None:
    """INVALID_ARGUMENT with every problem and its field path; the etcd revision is unchanged."""
    bad = dump(
        route(CITY_A, "r1", "nobody", "no.Such"),
        route(CITY_A, "Bad_Name", "welfare", "demo.v1.ResidentRegistry", "900s"),
        system(mesh.trust_domain, CITY_A, "x", ""),
    )
    before = await _revision(mesh)
    result = mesh.meshctl("alice", "apply", "-f", "-", input=bad)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    for expected in ("stdin#1 Route 131016/r1: spec.consumer: system 'nobody' does not exist in org 131016",
                     "stdin#1 Route 131016/r1: spec.grpcService: no Service provides 'no.Such'",
                     "stdin#2 Route 131016/Bad_Name: metadata.name:",
                     "stdin#2 Route 131016/Bad_Name: spec.timeout: must be at most 300s",
                     "stdin#3 System 131016/x: spec.displayName: required"):
        assert any(line.startswith(f"error: {expected}") for line in errors), (expected, errors)
    assert await _revision(mesh) == before


async def test_unknown_field_is_refused(mesh: LocalMesh) -> None:
    """A misspelt field is an error naming it, never ignored."""
    text = dump(route(CITY_A, "r2", "welfare", "demo.v1.ResidentRegistry")).replace("timeout:", "timeuot:")
    result = mesh.meshctl("alice", "apply", "-f", "-", input=text)
    assert result.returncode == 1 and "timeuot" in result.stderr


async def test_stale_resource_version_is_aborted(mesh: LocalMesh) -> None:
    """Applying with an old resourceVersion fails ABORTED and nothing is written."""
    current = json.loads(mesh.meshctl("alice", "get", "route", "welfare-to-registry", "--org", CITY_A, "-o", "json").stdout)
    doc = route(CITY_A, "welfare-to-registry", "welfare", "demo.v1.ResidentRegistry", "11s")
    doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    assert mesh.meshctl("alice", "apply", "-f", "-", input=dump(doc)).returncode == 0
    doc["spec"]["timeout"] = "12s"  # same, now stale, resourceVersion
    before = await _revision(mesh)
    result = mesh.meshctl("alice", "apply", "-f", "-", input=dump(doc))
    assert result.returncode == 1 and "ABORTED" in result.stderr and "stale" in result.stderr
    assert await _revision(mesh) == before


async def test_org_admin_cannot_touch_another_org(mesh: LocalMesh) -> None:
    """An org-admin of 141003 writing into 131016: PERMISSION_DENIED, nothing written."""
    before = await _revision(mesh)
    doc = dump(route(CITY_A, "sneaky", "welfare", "demo.v1.ResidentRegistry"))
    result = mesh.meshctl("yoko", "apply", "-f", "-", input=doc)
    assert result.returncode == 1 and "PERMISSION_DENIED" in result.stderr
    result = mesh.meshctl("yoko", "delete", "route", "welfare-to-registry", "--org", CITY_A)
    assert result.returncode == 1 and "PERMISSION_DENIED" in result.stderr
    assert mesh.meshctl("vera", "apply", "-f", "-", input=doc).returncode == 1
    assert await _revision(mesh) == before


async def test_sidecar_etcd_credentials_cannot_write(mesh: LocalMesh) -> None:
    """etcd itself refuses a write by the sidecars' read-only user."""
    store = mesh.etcd.store_for("sidecar")
    try:
        kvs, _ = await store.range(keys.CONFIG_PREFIX.encode())
        assert kvs
        with pytest.raises(StorePermissionDenied):
            await store.put(keys.HEAD_KEY.encode(), b"forged")
    finally:
        await store.close()


async def test_delete_history_and_rollback(mesh: LocalMesh) -> None:
    """A resource's versions are kept; rollback writes an old one back as the newest."""
    doc = route(CITY_A, "history-demo", "welfare", "demo.v1.ResidentRegistry", "5s")
    assert mesh.meshctl("alice", "apply", "-f", "-", input=dump(doc)).returncode == 0
    doc["spec"]["timeout"] = "7s"
    assert mesh.meshctl("alice", "apply", "-f", "-", input=dump(doc)).returncode == 0
    history = mesh.meshctl("alice", "history", "route", "history-demo", "--org", CITY_A).stdout.splitlines()
    first = history[-1].split()[0]
    assert len(history) == 3 and "created" in history[-1] and "configured" in history[1]
    result = mesh.meshctl("alice", "rollback", "route", "history-demo", "--org", CITY_A, "--to-version", first)
    assert result.returncode == 0, result.stderr
    obj = json.loads(mesh.meshctl("alice", "get", "route", "history-demo", "--org", CITY_A, "-o", "json").stdout)
    assert obj["spec"]["timeout"] == "5s" and obj["metadata"]["generation"] == "3"
    assert mesh.meshctl("alice", "delete", "route", "history-demo", "--org", CITY_A).returncode == 0
    assert mesh.meshctl("alice", "get", "route", "history-demo", "--org", CITY_A).returncode == 1


async def test_deleting_a_referenced_system_is_refused(mesh: LocalMesh) -> None:
    """A delete that would break a reference is INVALID_ARGUMENT naming the broken object."""
    result = mesh.meshctl("alice", "delete", "system", "welfare", "--org", CITY_A)
    assert result.returncode == 1
    assert "Route 131016/welfare-to-registry: spec.consumer" in result.stderr


async def test_sidecar_etcd_credentials_cannot_read_tokens_or_history(mesh: LocalMesh) -> None:
    """The sidecars' role is confined to the config range: history and tokens are refused."""
    store = mesh.etcd.store_for("sidecar")
    try:
        for prefix in (keys.HISTORY_PREFIX, keys.TOKEN_PREFIX, keys.STATUS_PREFIX):
            with pytest.raises(StorePermissionDenied):
                await store.range(prefix.encode())
    finally:
        await store.close()
