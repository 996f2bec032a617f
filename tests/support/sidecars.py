"""Real sidecar processes for tests: PKI, config files, start, readiness, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from certs.bundle import write_bundle, write_identity
from certs.ca import Issued, create_intermediate, create_root, issue_workload
from certs.spiffe_id import workload_id
from tests.support.wait import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
TRUST_DOMAIN = "tsunagi.test"
CONSUMER_ID = workload_id(TRUST_DOMAIN, "131016", "welfare")
PROVIDER_ID = workload_id(TRUST_DOMAIN, "131016", "registry")


@dataclass
class Pki:
    """A throwaway mesh CA written to a folder."""

    root: Issued
    intermediate: Issued
    directory: Path
    bundle: Path

    @classmethod
    def create(cls, directory: Path) -> "Pki":
        directory.mkdir(parents=True, exist_ok=True)
        root = create_root()
        intermediate = create_intermediate(root)
        bundle = write_bundle(directory / "bundle.pem", [root.cert])
        return cls(root, intermediate, directory, bundle)

    def identity(self, spiffe_id: str, name: str) -> tuple[Path, Path]:
        return write_identity(self.directory, name, issue_workload(self.intermediate, spiffe_id))


@dataclass
class SidecarProcess:
    """One `python -m sidecar` subprocess."""

    name: str
    config_path: Path
    admin: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def start(self, wait: bool = True) -> "SidecarProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "--config", str(self.config_path)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.extra},
        )
        log.close()
        if wait:
            wait_until(self.serving, timeout=20, what=f"{self.name} sidecar SERVING")
        return self

    def serving(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} sidecar exited {self.proc.returncode}:\n{self.logs()}")
        try:
            with grpc.insecure_channel(self.admin) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1
                )
            return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def write_config(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Pair:
    """A consumer sidecar (outbound) and a provider sidecar (inbound) in front of one app."""

    pki: Pki
    consumer: SidecarProcess
    provider: SidecarProcess
    outbound: str
    inbound: str
    app_port: int

    def stop(self) -> None:
        self.consumer.stop()
        self.provider.stop()


def make_pair(
    directory: Path,
    app_port: int,
    max_message_bytes: int = 0,
    route_identity: str = PROVIDER_ID,
    pki: Pki | None = None,
    services: tuple[str, ...] = ("test.Echo",),
    audit: bool = False,
) -> Pair:
    """Write certificates and configs for a sidecar pair; nothing is started yet."""
    pki = pki or Pki.create(directory / "pki")
    outbound = f"127.0.0.1:{free_port()}"
    inbound = f"127.0.0.1:{free_port()}"
    sidecars = {}
    for name, spiffe_id in (("consumer", CONSUMER_ID), ("provider", PROVIDER_ID)):
        cert, key = pki.identity(spiffe_id, name)
        admin = f"127.0.0.1:{free_port()}"
        doc: dict = {
            "identity": {"spiffeId": spiffe_id, "certFile": str(cert), "keyFile": str(key),
                         "bundleFile": str(pki.bundle)},
            "admin": {"address": admin},
            "drainTimeout": "3s",
        }
        if max_message_bytes:
            doc["maxMessageBytes"] = max_message_bytes
        if audit:
            doc["audit"] = {"directory": str(directory / f"{name}-audit"), "checkpointEvery": 50}
        if name == "consumer":
            doc["outbound"] = {"address": outbound}
            doc["routes"] = [
                {"service": service, "endpoint": inbound, "identity": route_identity}
                for service in services
            ]
        else:
            doc["inbound"] = {"address": inbound, "upstream": f"127.0.0.1:{app_port}"}
        config = write_config(directory / f"{name}.yaml", doc)
        sidecars[name] = SidecarProcess(name, config, admin, directory / f"{name}.log")
    return Pair(pki, sidecars["consumer"], sidecars["provider"], outbound, inbound, app_port)
