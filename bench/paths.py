"""The data paths under test, how each is brought up, and when it is ready.

direct         client → upstream
nginx          client → nginx A (h2c) → mTLS → nginx B → h2c → upstream
bare           client → bare forwarder A (h2c) → mTLS → bare forwarder B → h2c → upstream
sidecar        client → consumer sidecar (outbound) → mTLS → provider sidecar (inbound) → upstream
sidecar-audit  as sidecar, with the audit log on in both sidecars
mesh           as sidecar, configured from etcd by the control plane (signed config, access
               policy at egress and provider, the unary relay the Service's descriptors allow)
mesh-audit     as mesh, with the audit log on in both sidecars

Every mTLS hop pins the provider's DNS name. The static paths share the bench PKI; each mesh
path has its own mesh (CA, etcd, control plane), and its sidecars join it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.identities import Pki
from bench.meshes import Meshes
from bench.nginx import back_config, front_config, write_instance
from bench.ports import free_ports
from bench.process import Child, ChildFailed, Children
from bench.procstat import children_of
from bench.upstream import METHOD, PAYLOAD_BYTES

PATH_NAMES = ("direct", "nginx", "bare", "sidecar", "sidecar-audit", "mesh", "mesh-audit")
READY_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Bench:
    """What every path shares: the process owner, the PKI, a scratch dir, the upstream, and
    the owner of the mesh paths' meshes (their etcd and control plane)."""

    children: Children
    pki: Pki
    workdir: Path
    upstream: str
    meshes: Meshes
    # Extra fields of the audit paths' `audit:` section (e.g. {"batchLinger": "0.1s"}).
    audit_options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DataPath:
    """A path that is up: where the client dials, and which processes its cost counts.

    `processes` maps a role ("A", "B") to the pids whose CPU and RSS are that hop's: the
    process itself, or for nginx its worker(s) (worker_processes 1).
    """

    name: str
    target: str
    processes: dict[str, tuple[int, ...]]
    children: tuple[Child, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Launched:
    """A path whose processes have been started but may not be ready yet."""

    name: str
    target: str
    roles: dict[str, Child]
    count_workers: bool = False  # nginx: the master only supervises; workers do the work
    admins: tuple[str, ...] = ()  # sidecar admin addresses that must report SERVING


def launch(name: str, bench: Bench) -> Launched:
    """Start the processes of path `name` without waiting for them."""
    starters: dict[str, Callable[[Bench], Launched]] = {
        "direct": _direct,
        "nginx": _nginx,
        "bare": _bare,
        "sidecar": partial(_sidecar, name="sidecar", audit=False),
        "sidecar-audit": partial(_sidecar, name="sidecar-audit", audit=True),
        "mesh": partial(_mesh, name="mesh", audit=False),
        "mesh-audit": partial(_mesh, name="mesh-audit", audit=True),
    }
    return starters[name](bench)


def wait_ready(launched: Launched, timeout: float = READY_TIMEOUT_SECONDS) -> DataPath:
    """Wait until every admin reports SERVING and a real call through the path answers with
    the upstream's payload; raise ChildFailed (with the log tail) if a process dies."""
    deadline = time.monotonic() + timeout
    for admin in launched.admins:
        _poll(
            launched,
            deadline,
            lambda: _serving(admin),
            f"SERVING from the health service at {admin}",
        )
    _poll(
        launched, deadline, lambda: _answers(launched.target), f"answer through {launched.target}"
    )
    processes: dict[str, tuple[int, ...]] = {}
    for role, child in launched.roles.items():
        pids = tuple(children_of(child.pid)) if launched.count_workers else (child.pid,)
        if not pids:
            raise ChildFailed(child, "has no worker process")
        processes[role] = pids
    return DataPath(launched.name, launched.target, processes, tuple(launched.roles.values()))


def _poll(launched: Launched, deadline: float, check: Callable[[], bool], what: str) -> None:
    last_error = ""
    while time.monotonic() < deadline:  # bounded by the deadline
        for child in launched.roles.values():
            if not child.alive():
                raise ChildFailed(child, f"exited with {child.popen.returncode} before {what}")
        try:
            if check():
                return
        except grpc.RpcError as err:
            last_error = f"{err.code().name}: {err.details()}"
        time.sleep(_POLL_SECONDS)
    reason = f"no {what} within the deadline ({last_error or 'no answer'})"
    for child in launched.roles.values():
        raise ChildFailed(child, reason)
    raise TimeoutError(f"{launched.name}: {reason}")


def _serving(admin: str) -> bool:
    with grpc.insecure_channel(admin) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1.0
        )
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _answers(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        reply = channel.unary_unary(METHOD)(b"\xa5" * PAYLOAD_BYTES, timeout=2.0)
    if len(reply) != PAYLOAD_BYTES:
        raise RuntimeError(f"{target} answered {len(reply)} bytes, want {PAYLOAD_BYTES}")
    return True


def _local(port: int) -> str:
    return f"127.0.0.1:{port}"


def _direct(bench: Bench) -> Launched:
    return Launched("direct", bench.upstream, roles={})


def _nginx(bench: Bench) -> Launched:
    a_port, b_port = free_ports(2)
    a_dir, b_dir = bench.workdir / "nginx-a", bench.workdir / "nginx-b"
    b = bench.children.start(
        "nginx-b",
        write_instance(b_dir, back_config(b_dir, _local(b_port), bench.upstream, bench.pki)),
    )
    a = bench.children.start(
        "nginx-a",
        write_instance(a_dir, front_config(a_dir, _local(a_port), _local(b_port), bench.pki)),
    )
    return Launched("nginx", _local(a_port), roles={"A": a, "B": b}, count_workers=True)


def _bare(bench: Bench) -> Launched:
    a_port, b_port = free_ports(2)
    pki = bench.pki
    tls_in = f"{pki.provider.cert},{pki.provider.key},{pki.bundle}"
    tls_out = f"{pki.consumer.cert},{pki.consumer.key},{pki.bundle},{pki.provider.server_name}"
    b = bench.children.start_python(
        "bare-b",
        "bench.bare_forwarder",
        "--listen",
        _local(b_port),
        "--upstream",
        bench.upstream,
        "--tls-in",
        tls_in,
    )
    a = bench.children.start_python(
        "bare-a",
        "bench.bare_forwarder",
        "--listen",
        _local(a_port),
        "--upstream",
        _local(b_port),
        "--tls-out",
        tls_out,
    )
    return Launched("bare", _local(a_port), roles={"A": a, "B": b})


def _sidecar(bench: Bench, name: str, audit: bool) -> Launched:
    """The static pair: routes from the --config file, no policy layer, every method relayed
    as a stream (a static config does not know method kinds)."""
    outbound, inbound, consumer_admin, provider_admin = free_ports(4)
    pki = bench.pki
    provider: dict[str, object] = {
        "identity": _identity_files(pki, "provider"),
        "inbound": {"address": _local(inbound), "upstream": bench.upstream},
        "admin": {"address": _local(provider_admin)},
    }
    consumer: dict[str, object] = {
        "identity": _identity_files(pki, "consumer"),
        "outbound": {"address": _local(outbound)},
        "admin": {"address": _local(consumer_admin)},
        "routes": [
            {"service": "*", "endpoint": _local(inbound), "identity": pki.provider.spiffe_id}
        ],
    }
    # The YAML sits beside the certificates: identity paths are relative to the YAML file.
    configs = {}
    for who, doc in (("provider", provider), ("consumer", consumer)):
        if audit:
            doc["audit"] = {"directory": str(bench.workdir / name / f"audit-{who}"), **bench.audit_options}
        configs[who] = pki.bundle.parent / f"{name}-{who}.yaml"
        configs[who].write_text(yaml.safe_dump(doc, sort_keys=False))
    b = bench.children.start_python(
        f"{name}-provider", "sidecar", "--config", str(configs["provider"])
    )
    a = bench.children.start_python(
        f"{name}-consumer", "sidecar", "--config", str(configs["consumer"])
    )
    return Launched(
        name,
        _local(outbound),
        roles={"A": a, "B": b},
        admins=(_local(consumer_admin), _local(provider_admin)),
    )


def _mesh(bench: Bench, name: str, audit: bool) -> Launched:
    """A pair that joins its own mesh and takes its config from etcd. Only the two sidecars
    are this path's processes; the mesh's etcd and control plane are not counted."""
    pair = bench.meshes.create(name, bench.upstream, audit=bench.audit_options if audit else None)
    b = bench.children.start(f"{name}-provider", list(pair.provider.argv))
    a = bench.children.start(f"{name}-consumer", list(pair.consumer.argv))
    return Launched(
        name, pair.target, roles={"A": a, "B": b}, admins=(pair.consumer.admin, pair.provider.admin)
    )


def _identity_files(pki: Pki, who: str) -> dict[str, str]:
    identity = pki.consumer if who == "consumer" else pki.provider
    return {
        "spiffeId": identity.spiffe_id,
        "certFile": identity.cert.name,
        "keyFile": identity.key.name,
        "bundleFile": pki.bundle.name,
    }
