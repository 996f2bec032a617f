"""`meshctl dev up`: a throwaway local mesh in front of a gRPC server the user already runs.

It makes a CA and identities in a temp dir, starts a provider sidecar in front of the
upstream and a consumer sidecar on --listen that routes every service to it, prints one
`ready` line, and on SIGINT/SIGTERM stops what it started and removes the temp dir.
The sidecars are separate processes (`python -m sidecar`); this module never imports them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from certs.bundle import write_bundle, write_identity
from certs.ca import create_intermediate, create_root, issue_workload
from certs.spiffe_id import workload_id

TRUST_DOMAIN = "dev.tsunagi.internal"
DEV_ORG = "131016"  # a valid 全国地方公共団体コード (千代田区) for the throwaway identities
PROVIDER = workload_id(TRUST_DOMAIN, DEV_ORG, "provider")
CONSUMER = workload_id(TRUST_DOMAIN, DEV_ORG, "consumer")
READY_TIMEOUT_S = 30.0


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dev = subparsers.add_parser("dev", help="a local mesh for development")
    commands = dev.add_subparsers(dest="dev_command", metavar="COMMAND", required=True)
    up = commands.add_parser("up", help="run a sidecar pair in front of an upstream until stopped")
    up.add_argument("--upstream", required=True, help="HOST:PORT of your gRPC server (loopback)")
    up.add_argument("--listen", default="127.0.0.1:15001",
                    help="where your client connects (loopback; default 127.0.0.1:15001)")
    up.set_defaults(func=run_up)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_serving(address: str) -> bool:
    """True when the admin listener at `address` reports SERVING."""
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


@dataclass
class DevMesh:
    """The processes and files of one `dev up`."""

    upstream: str
    listen: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tsunagi-dev-")))
    inbound: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    admins: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        root = create_root()
        intermediate = create_intermediate(root)
        bundle = write_bundle(self.workdir / "bundle.pem", [root.cert])
        self.inbound = f"127.0.0.1:{free_port()}"
        for name, spiffe_id in (("provider", PROVIDER), ("consumer", CONSUMER)):
            cert, key = write_identity(self.workdir, name, issue_workload(intermediate, spiffe_id))
            admin = f"127.0.0.1:{free_port()}"
            doc: dict = {
                "identity": {"spiffeId": spiffe_id, "certFile": str(cert), "keyFile": str(key),
                             "bundleFile": str(bundle)},
                "admin": {"address": admin},
            }
            if name == "provider":
                doc["inbound"] = {"address": self.inbound, "upstream": self.upstream}
            else:
                doc["outbound"] = {"address": self.listen}
                doc["routes"] = [{"service": "*", "endpoint": self.inbound, "identity": PROVIDER}]
            config = self.workdir / f"{name}.yaml"
            config.write_text(yaml.safe_dump(doc), encoding="utf-8")
            log = open(self.workdir / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "sidecar", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
            log.close()
            self.admins[name] = admin

    def wait_ready(self, stopping: threading.Event) -> str | None:
        """None once every sidecar serves; otherwise why not."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = dict(self.admins)
        while pending and time.monotonic() < deadline and not stopping.is_set():
            for name, admin in list(pending.items()):
                if self.procs[name].poll() is not None:
                    return f"{name} sidecar exited: {self.tail(name)}"
                if health_serving(admin):
                    del pending[name]
            stopping.wait(0.05)
        return f"not serving: {', '.join(pending)}" if pending else None

    def tail(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return " | ".join(lines[-3:])

    def dead(self) -> str | None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_up(args: argparse.Namespace) -> int:
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    mesh = DevMesh(upstream=args.upstream, listen=args.listen)
    try:
        mesh.start()
        problem = mesh.wait_ready(stopping)
        if problem is not None:
            if not stopping.is_set():
                print(f"error: dev up: {problem}", file=sys.stderr)
            return 1
        print(f"ready listen={mesh.listen} inbound={mesh.inbound} upstream={mesh.upstream} "
              f"provider={PROVIDER} consumer={CONSUMER} pid={os.getpid()}", flush=True)
        while not stopping.wait(0.2):
            dead = mesh.dead()
            if dead is not None:
                print(f"error: dev up: {dead} sidecar exited: {mesh.tail(dead)}", file=sys.stderr)
                return 1
        return 0
    finally:
        mesh.stop()
