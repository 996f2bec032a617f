"""etcd's PKI script and the StatefulSet's etcd flags, checked for real: the script's
certificates carry what the manifests rely on, and a real etcd started with the manifest's
own flags and those certificates serves mTLS, its /health probe, and the mesh's users."""

from __future__ import annotations

import asyncio
import socket
import stat
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.store.errors import StorePermissionDenied
from mesh.store.etcd import EtcdStore
from mesh.store.etcd_auth import bootstrap_auth
from tests.unit.deploy.conftest import K8S
from tests.unit.deploy.manifests import container, flag, one, pod_spec

SCRIPT = K8S / "pki" / "etcd-pki.sh"
ETCD_BINARY = Path("/usr/bin/etcd")
USERS = ("root", "control-plane", "sidecar")
TLS_DIR = "/etc/etcd/tls/"
READY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("etcd-pki") / "pki"
    subprocess.run(["bash", str(SCRIPT), str(out)], check=True, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)
    return out


def load(pki: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki / f"{name}.crt").read_bytes())


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def etcd_args(everything: list[dict[str, Any]]) -> list[str]:
    return list(container(pod_spec(one(everything, "StatefulSet", "tsunagi-etcd")), "etcd")["args"])


def test_server_certificate_is_the_peer_cn_and_covers_every_service_name(pki: Path, everything: list[dict[str, Any]]) -> None:
    """The member certificate has the CN --peer-cert-allowed-cn admits, serves and dials
    (server+client auth), and names the client Service and every member's peer name."""
    server = load(pki, "server")
    assert common_name(server) == flag(etcd_args(everything), "peer-cert-allowed-cn")
    assert usages(server) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    client = one(everything, "Service", "tsunagi-etcd-client")
    assert f"tsunagi-etcd-client.{client['metadata']['namespace']}.svc.cluster.local" in names
    assert "*.tsunagi-etcd.tsunagi-system.svc.cluster.local" in names


@pytest.mark.parametrize("user", USERS)
def test_client_certificates_name_the_etcd_user(pki: Path, user: str) -> None:
    """Each client certificate's CN is its etcd user, it is for client auth only, and the
    etcd CA signed it."""
    cert = load(pki, user)
    assert common_name(cert) == user
    assert usages(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    cert.verify_directly_issued_by(load(pki, "ca"))


def test_keys_are_private_to_their_owner(pki: Path) -> None:
    """Every key file is 0600."""
    keys = list(pki.glob("*.key"))
    assert len(keys) == len(USERS) + 2
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)


def test_script_refuses_to_replace_a_ca(pki: Path) -> None:
    """Running it again on the same directory fails and leaves the CA alone."""
    before = (pki / "ca.key").read_bytes()
    result = subprocess.run(["bash", str(SCRIPT), str(pki)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "refusing" in result.stderr
    assert (pki / "ca.key").read_bytes() == before


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_member_args(args: list[str], pki: Path, data: Path, ports: dict[str, int]) -> list[str]:
    """The manifest's flags for one member on 127.0.0.1: addresses, member list and file
    paths replaced; every other flag exactly as the StatefulSet passes it."""
    files = {"ca.crt": pki / "ca.crt", "tls.crt": pki / "server.crt", "tls.key": pki / "server.key"}
    replaced = {
        "name": "tsunagi-etcd-0",
        "data-dir": str(data),
        "listen-client-urls": f"https://127.0.0.1:{ports['client']}",
        "advertise-client-urls": f"https://127.0.0.1:{ports['client']}",
        "listen-peer-urls": f"https://127.0.0.1:{ports['peer']}",
        "initial-advertise-peer-urls": f"https://127.0.0.1:{ports['peer']}",
        "initial-cluster": f"tsunagi-etcd-0=https://127.0.0.1:{ports['peer']}",
        "listen-metrics-urls": f"http://127.0.0.1:{ports['metrics']}",
    }
    result = []
    for arg in args:
        name, sep, value = arg[2:].partition("=")
        if name in replaced:
            value = replaced[name]
        elif value.startswith(TLS_DIR):
            value = str(files[value[len(TLS_DIR):]])
        result.append(f"--{name}{sep}{value}")
    return result


@pytest.fixture
def etcd_member(pki: Path, tmp_path: Path, everything: list[dict[str, Any]]) -> Iterator[dict[str, int]]:
    if not ETCD_BINARY.exists():
        pytest.skip("etcd-server is not installed")
    ports = {name: _free_port() for name in ("client", "peer", "metrics")}
    args = local_member_args(etcd_args(everything), pki, tmp_path / "data", ports)
    with open(tmp_path / "etcd.log", "wb") as log:
        process = subprocess.Popen([str(ETCD_BINARY), *args], stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin"})
    try:
        yield ports
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def wait_healthy(metrics_port: int, path: str) -> None:
    """Poll the probe's URL (bounded) until etcd answers 200."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{metrics_port}{path}"

    def fetch() -> int:
        try:
            with opener.open(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            return 0

    async with asyncio.timeout(READY_TIMEOUT):
        while await asyncio.to_thread(fetch) != 200:
            await asyncio.sleep(0.1)


def store(pki: Path, user: str, port: int) -> EtcdStore:
    return EtcdStore([f"127.0.0.1:{port}"], (pki / "ca.crt").read_bytes(), (pki / f"{user}.crt").read_bytes(),
                     (pki / f"{user}.key").read_bytes(), timeout=5.0)


async def test_etcd_runs_with_the_manifest_flags_and_enforces_the_mesh_users(
    etcd_member: dict[str, int], pki: Path, everything: list[dict[str, Any]],
) -> None:
    """With the StatefulSet's flags: the startup probe's URL turns healthy; as root (CN) the
    auth bootstrap succeeds; then control-plane may write and sidecar may only read."""
    etcd = container(pod_spec(one(everything, "StatefulSet", "tsunagi-etcd")), "etcd")
    await wait_healthy(etcd_member["metrics"], etcd["startupProbe"]["httpGet"]["path"])
    port = etcd_member["client"]
    root, writer, reader = (store(pki, user, port) for user in USERS)
    try:
        await bootstrap_auth(root, b"/tsunagi/", "control-plane", "sidecar")
        await writer.put(b"/tsunagi/v1/config/_head", b"1")
        assert (await reader.get(b"/tsunagi/v1/config/_head")).value == b"1"  # type: ignore[union-attr]
        with pytest.raises(StorePermissionDenied):
            await reader.put(b"/tsunagi/v1/config/_head", b"2")
    finally:
        for s in (root, writer, reader):
            await s.close()
    await wait_healthy(etcd_member["metrics"], etcd["livenessProbe"]["httpGet"]["path"])
