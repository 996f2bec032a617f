"""A whole mesh on one machine: CA, etcd (TLS + auth), control plane, operators, sidecars.

Used by `meshctl dev up`, `make demo`, the end-to-end tests and the benchmarks, so that all
of them run the real programs as separate processes on 127.0.0.1. The sidecars and the
control plane are started as `python -m …`; this module never imports `sidecar`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from certs.bundle import write_bundle, write_identity
from certs.ca import Issued, create_intermediate, create_root, issue_client, issue_workload
from certs.spiffe_id import operator_id, workload_id
from mesh import keys
from mesh.addresses import is_local_address
from mesh.signing import SIGNER_PATH
from mesh.store.local_etcd import LocalEtcd
from control_plane.settings import CONTROL_PLANE_PATH

READY_TIMEOUT_S = 30.0
CONTROL_PLANE_USER = "control-plane"
SIDECAR_USER = "sidecar"
PLATFORM_ORG = "platform"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_serving(address: str) -> bool:
    """True when grpc.health.v1 at `address` (a loopback admin listener) reports SERVING."""
    if not is_local_address(address):
        raise ValueError(f"{address!r}: admin listeners are plaintext and only on loopback or unix:")
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


@dataclass
class Process:
    """One child program with its log file and admin (health) address."""

    name: str
    args: list[str]
    log_path: Path
    admin: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def serving(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited ({self.proc and self.proc.returncode}): {self.tail()}")
        return health_serving(self.admin)

    def wait_serving(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self.serving():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not serving after {timeout}s: {self.tail()}")
            time.sleep(0.05)

    def tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return " | ".join(text.splitlines()[-lines:])

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class LocalMesh:
    """Files under `workdir`; call `await start()` then `stop()`."""

    workdir: Path
    trust_domain: str = "dev.tsunagi.internal"
    etcd_members: int = 1
    root: Issued = field(init=False)
    intermediate: Issued = field(init=False)
    bundle: Path = field(init=False)
    etcd: LocalEtcd = field(init=False)
    control_plane: Process | None = None
    cp_listen: str = ""
    cp_join: str = ""
    operators: dict[str, Path] = field(default_factory=dict)  # name → meshconfig
    bindings: list[dict[str, str]] = field(default_factory=list)
    sidecars: dict[str, Process] = field(default_factory=dict)
    # Extra ControlPlaneConfig fields (e.g. {"workloadTtl": "20s"}).
    control_plane_extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root = create_root(trust_domain=self.trust_domain)
        self.intermediate = create_intermediate(self.root)
        self.bundle = write_bundle(self.workdir / "bundle.pem", [self.root.cert])
        self.etcd = LocalEtcd(self.workdir / "etcd", self.intermediate, self.root.cert_pem(),
                              members=self.etcd_members, writer_user=CONTROL_PLANE_USER,
                              reader_user=SIDECAR_USER, reader_prefix=keys.CONFIG_PREFIX.encode())

    @property
    def control_plane_id(self) -> str:
        return f"spiffe://{self.trust_domain}{CONTROL_PLANE_PATH}"

    def add_operator(self, name: str, role: str, org: str = "") -> Path:
        """An operator identity, its role, and a meshconfig for meshctl. Before start()."""
        identity = operator_id(self.trust_domain, org or PLATFORM_ORG, name)
        cert, key = write_identity(self.workdir / "operators", name, issue_workload(self.intermediate, identity))
        self.bindings.append({"identity": identity, "role": role, **({"org": org} if role == "org-admin" else {})})
        path = self.workdir / "operators" / f"{name}.meshconfig"
        doc = {"currentContext": "local", "contexts": [{
            "name": "local", "server": self.cp_listen or "pending", "serverIdentity": self.control_plane_id,
            "certFile": str(cert), "keyFile": str(key), "bundleFile": str(self.bundle)}]}
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        self.operators[name] = path
        return path

    def _etcd_client_files(self, user: str) -> tuple[Path, Path]:
        return write_identity(self.workdir / "etcd-clients", user, issue_client(self.intermediate, user))

    async def start(self) -> None:
        await self.etcd.start()
        self.start_control_plane()

    def start_control_plane(self) -> Process:
        directory = self.workdir / "control-plane"
        directory.mkdir(exist_ok=True)
        if not self.cp_listen:
            self.cp_listen = f"127.0.0.1:{free_port()}"
            self.cp_join = f"127.0.0.1:{free_port()}"
            serving = write_identity(directory, "serving", issue_workload(self.intermediate, self.control_plane_id))
            # The config signer outlives workload certificates: sidecars reject config whose
            # signer has expired, so it is rotated (and everything re-signed) well before.
            signer = write_identity(directory, "signer", issue_workload(
                self.intermediate, f"spiffe://{self.trust_domain}{SIGNER_PATH}", lifetime=timedelta(days=365)))
            ca_cert, ca_key = write_identity(directory, "intermediate", self.intermediate)
            etcd_cert, etcd_key = self._etcd_client_files(CONTROL_PLANE_USER)
            doc: dict[str, Any] = {
                "trustDomain": self.trust_domain, "listen": self.cp_listen, "joinListen": self.cp_join,
                "admin": f"127.0.0.1:{free_port()}",
                "identity": {"spiffeId": self.control_plane_id, "certFile": str(serving[0]),
                             "keyFile": str(serving[1]), "bundleFile": str(self.bundle)},
                "ca": {"certFile": str(ca_cert), "keyFile": str(ca_key)},
                "signer": {"certFile": str(signer[0]), "keyFile": str(signer[1])},
                "etcd": {"endpoints": self.etcd.endpoints, "certFile": str(etcd_cert),
                         "keyFile": str(etcd_key), "caFile": str(self.bundle)},
                "operators": self.bindings,
                "statusTtl": "10s",
                **self.control_plane_extra,
            }
            (directory / "control-plane.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
            for path in self.operators.values():
                text = path.read_text(encoding="utf-8").replace("server: pending", f"server: {self.cp_listen}")
                path.write_text(text, encoding="utf-8")
        config = yaml.safe_load((directory / "control-plane.yaml").read_text(encoding="utf-8"))
        self.control_plane = Process(
            "control-plane", [sys.executable, "-m", "control_plane", "--config", str(directory / "control-plane.yaml")],
            directory / "control-plane.log", config["admin"]).start()
        self.control_plane.wait_serving()
        return self.control_plane

    def meshctl(self, operator: str, *args: str, input: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run meshctl as `operator`."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "meshctl"), *args, "--meshconfig", str(self.operators[operator])]
            if args and args[0] not in ("ca", "dev", "audit") else [str(Path(sys.executable).parent / "meshctl"), *args],
            input=input, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "GRPC_VERBOSITY": "ERROR"},
        )

    def apply(self, operator: str, yaml_text: str) -> str:
        """meshctl apply as `operator`; returns its output, raises with stderr on failure."""
        result = self.meshctl(operator, "apply", "-f", "-", input=yaml_text)
        if result.returncode != 0:
            raise RuntimeError(f"apply failed: {result.stderr.strip()}")
        return result.stdout

    def join_token(self, operator: str, spiffe_id: str) -> str:
        """A one-time join token for `spiffe_id`, minted through the API."""
        from control_plane.client import connect
        from mesh.v1 import control_plane_pb2 as api

        connection = connect(self.operators[operator], None)
        try:
            request = api.CreateJoinTokenRequest(spiffe_id=spiffe_id)
            request.ttl.FromSeconds(600)
            return connection.ca.CreateJoinToken(request, timeout=10).token
        finally:
            connection.close()

    def add_sidecar(self, name: str, spiffe_id: str, *, operator: str, outbound: str | None = None,
                    inbound: str | None = None, upstream: str | None = None,
                    extra: dict[str, Any] | None = None, start: bool = True, join: bool = True) -> Process:
        """A sidecar that takes its config from etcd. It joins with a one-time token, or
        (join=False) starts with a certificate issued directly by the CA."""
        directory = self.workdir / "sidecars" / name
        directory.mkdir(parents=True, exist_ok=True)
        token_file = directory / "join-token"
        if join:
            token_file.write_text(self.join_token(operator, spiffe_id), encoding="utf-8")
            token_file.chmod(0o600)
        else:
            write_identity(directory, "identity", issue_workload(self.intermediate, spiffe_id))
        etcd_cert, etcd_key = self._etcd_client_files(SIDECAR_USER)
        admin = f"127.0.0.1:{free_port()}"
        doc: dict[str, Any] = {
            "identity": {"spiffeId": spiffe_id, "certFile": str(directory / "identity.crt"),
                         "keyFile": str(directory / "identity.key"), "bundleFile": str(self.bundle)},
            "admin": {"address": admin},
            "etcd": {"endpoints": self.etcd.endpoints, "certFile": str(etcd_cert),
                     "keyFile": str(etcd_key), "caFile": str(self.bundle)},
            "controlPlane": {"address": self.cp_listen, "identity": self.control_plane_id},
            **({"join": {"address": self.cp_join, "tokenFile": str(token_file)}} if join else {}),
            "stateDir": str(directory / "state"),
            "drainTimeout": "3s",
            **(extra or {}),
        }
        if outbound:
            doc["outbound"] = {"address": outbound}
        if inbound:
            doc["inbound"] = {"address": inbound, "upstream": upstream}
        config = directory / "sidecar.yaml"
        config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        process = Process(name, [sys.executable, "-m", "sidecar", "--config", str(config)],
                          directory / "sidecar.log", admin)
        self.sidecars[name] = process
        if start:
            process.start().wait_serving()
        return process

    async def stop(self) -> None:
        for process in self.sidecars.values():
            process.stop()
        if self.control_plane is not None:
            self.control_plane.stop()
        await self.etcd.stop_all()


def workload(mesh: LocalMesh, org: str, system: str) -> str:
    return workload_id(mesh.trust_domain, org, system)
