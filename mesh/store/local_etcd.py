"""LocalEtcd: real etcd processes on 127.0.0.1 (one member or a cluster) with client and
peer mTLS from a given CA and auth bootstrapped; for dev up, tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import structlog
from aetcd import rpc

from certs.ca import Issued, issue_client, issue_server
from mesh.store.base import DEFAULT_TIMEOUT
from mesh.store.errors import StoreError, StoreUnavailable
from mesh.store.etcd import EtcdStore
from mesh.store.etcd_auth import ROOT, bootstrap_auth
from mesh.store.etcd_errors import map_etcd_errors

ETCD_BINARY = "/usr/bin/etcd"
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3
_PROBE_INTERVAL = 0.05

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Member:
    """One etcd member's fixed identity: its name, ports and directory."""

    name: str
    client_port: int
    peer_port: int
    metrics_port: int
    directory: Path

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://{HOST}:{self.peer_port}"


class LocalEtcd:
    """A local etcd cluster of `members` members under a fresh `base_dir`, certificates
    issued by `issuer` and trusted through `ca_pem` (the root).

    `await start()` (or `async with`) brings it up; restart() keeps a member's data. Each
    member logs to `<base_dir>/<name>/etcd.log`. Members serve client and peer traffic on
    mTLS only; a Prometheus /metrics listener is on plain HTTP, loopback only."""

    def __init__(
        self,
        base_dir: Path,
        issuer: Issued,
        ca_pem: bytes,
        *,
        members: int = 1,
        prefix: bytes = b"/tsunagi/",
        writer_user: str = "control-plane",
        reader_user: str = "sidecar",
        reader_prefix: bytes | None = None,
        heartbeat_ms: int = 100,
        election_ms: int = 1000,
        max_txn_ops: int = 1024,
    ) -> None:
        if members < 1:
            raise ValueError("a cluster needs at least one member")
        self.prefix = prefix
        self.writer_user = writer_user
        self.reader_user = reader_user
        self.reader_prefix = reader_prefix
        self.ca_pem = ca_pem
        self._base_dir = base_dir
        self._issuer = issuer
        self._flags = [
            f"--heartbeat-interval={heartbeat_ms}",
            f"--election-timeout={election_ms}",
            f"--max-txn-ops={max_txn_ops}",
        ]
        self._members = [self._allocate(f"etcd-{i}") for i in range(members)]
        self._processes: list[subprocess.Popen[bytes] | None] = [None] * members
        self._client_certs: dict[str, Issued] = {}
        self._token = f"tsunagi-{uuid.uuid4().hex[:12]}"

    @property
    def endpoints(self) -> list[str]:
        """Every member's client endpoint, running or not."""
        return [m.endpoint for m in self._members]

    @property
    def members(self) -> list[Member]:
        return list(self._members)

    def client_pems(self, user: str) -> tuple[bytes, bytes, bytes]:
        """(CA, certificate chain, key) PEMs for a client acting as `user` (the CN), for
        processes that build their own EtcdStore. Issued once per user."""
        issued = self._client_certs.get(user)
        if issued is None:
            issued = self._client_certs[user] = issue_client(self._issuer, user)
        return self.ca_pem, issued.chain_pem(), issued.key_pem()

    def store_for(self, user: str, members: list[int] | None = None, timeout: float = DEFAULT_TIMEOUT) -> EtcdStore:
        """A store acting as `user` (client certificate CN), on all members or the given ones."""
        indexes = range(len(self._members)) if members is None else members
        endpoints = [self._members[i].endpoint for i in indexes]
        return EtcdStore(endpoints, *self.client_pems(user), timeout)

    async def __aenter__(self) -> LocalEtcd:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_all()

    async def start(self) -> None:
        """Start every member on a fresh data dir, wait until they have a leader, then
        bootstrap auth. On failure every member started is stopped again."""
        for member in self._members:
            if (member.directory / "data").exists():
                raise FileExistsError(f"{member.directory} holds an earlier cluster; use a fresh base_dir")
        self._base_dir.mkdir(parents=True, exist_ok=True)
        try:
            for attempt in range(START_ATTEMPTS):
                for index in range(len(self._members)):
                    self._spawn(index)
                try:
                    await self._wait_ready(range(len(self._members)))
                    break
                except TimeoutError:
                    # Usually a port taken between choosing it and etcd binding it (another
                    # process on a busy machine): start over on fresh ports and data dirs.
                    if attempt == START_ATTEMPTS - 1:
                        raise
                    log.warning("etcd_start_retried", attempt=attempt + 1)
                    await asyncio.shield(self.stop_all())
                    for member in self._members:
                        shutil.rmtree(member.directory, ignore_errors=True)
                    self._members = [self._allocate(m.name) for m in self._members]
            root = self.store_for(ROOT)
            try:
                await bootstrap_auth(root, self.prefix, self.writer_user, self.reader_user, self.reader_prefix)
            finally:
                await root.close()
        except BaseException:
            await asyncio.shield(self.stop_all())
            raise
        log.info("etcd_started", members=len(self._members), endpoints=self.endpoints)

    async def kill(self, index: int) -> None:
        """SIGKILL one member and wait until it is gone."""
        await self._end(index, signal.SIGKILL)

    async def stop(self, index: int) -> None:
        """SIGTERM one member (SIGKILL after STOP_TIMEOUT) and wait until it is gone."""
        await self._end(index, signal.SIGTERM)

    async def restart(self, index: int) -> None:
        """Start a stopped member again on its data dir and wait until it serves: knows a
        leader if a quorum is now running, else (no leader possible yet) just answers."""
        if self.is_running(index):
            raise RuntimeError(f"member {index} is running")
        self._spawn(index)
        running = sum(self.is_running(i) for i in range(len(self._members)))
        await self._wait_ready([index], need_leader=running > len(self._members) // 2)

    async def stop_all(self) -> None:
        """Stop every running member, all at once."""
        await asyncio.gather(*(self._end(index, signal.SIGTERM) for index in range(len(self._members))))

    def is_running(self, index: int) -> bool:
        process = self._processes[index]
        return process is not None and process.poll() is None

    async def leader_index(self, timeout: float = READY_TIMEOUT) -> int:
        """The index of the current leader, waiting (bounded) for one to be elected."""
        async with asyncio.timeout(timeout):
            while True:
                for index in range(len(self._members)):
                    status = await self._status(index) if self.is_running(index) else None
                    if status is not None and status.leader and status.leader == status.header.member_id:
                        return index
                await asyncio.sleep(_PROBE_INTERVAL)

    async def move_leader(self, index: int, timeout: float = READY_TIMEOUT) -> None:
        """Hand leadership to member `index` and wait until it leads."""
        async with asyncio.timeout(timeout):
            target = await self._status(index)
            while target is None:
                await asyncio.sleep(_PROBE_INTERVAL)
                target = await self._status(index)
            leader = await self.leader_index(timeout)
            if leader == index:
                return
            store = self.store_for(ROOT, [leader])
            try:
                with map_etcd_errors():
                    await rpc.MaintenanceStub(store.admin_channel()).MoveLeader(
                        rpc.MoveLeaderRequest(targetID=target.header.member_id), timeout=timeout
                    )
            finally:
                await store.close()
            while await self.leader_index(timeout) != index:
                await asyncio.sleep(_PROBE_INTERVAL)

    async def watcher_count(self, index: int) -> int:
        """How many watchers member `index` serves (its etcd_debugging_mvcc_watcher_total)."""
        url = f"http://{HOST}:{self._members[index].metrics_port}/metrics"
        text = await asyncio.to_thread(_fetch, url)
        for line in text.splitlines():
            if line.startswith("etcd_debugging_mvcc_watcher_total "):
                return int(float(line.split()[1]))
        raise StoreError("etcd metrics have no watcher count")

    def _allocate(self, name: str) -> Member:
        return Member(
            name=name,
            client_port=_free_port(),
            peer_port=_free_port(),
            metrics_port=_free_port(),
            directory=self._base_dir / name,
        )

    def _spawn(self, index: int) -> None:
        member = self._members[index]
        member.directory.mkdir(parents=True, exist_ok=True)
        cert, key = member.directory / "server.pem", member.directory / "server.key"
        if not cert.exists():
            issued = issue_server(self._issuer, member.name, ["localhost"], [HOST])
            cert.write_bytes(issued.chain_pem())
            key.touch(mode=0o600)
            key.write_bytes(issued.key_pem())
        ca_file = self._base_dir / "ca.pem"
        ca_file.write_bytes(self.ca_pem)
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self._members)
        args = [
            ETCD_BINARY,
            f"--name={member.name}",
            f"--data-dir={member.directory / 'data'}",
            f"--listen-client-urls=https://{member.endpoint}",
            f"--advertise-client-urls=https://{member.endpoint}",
            f"--listen-peer-urls={member.peer_url}",
            f"--initial-advertise-peer-urls={member.peer_url}",
            f"--listen-metrics-urls=http://{HOST}:{member.metrics_port}",
            f"--initial-cluster={initial}",
            f"--initial-cluster-token={self._token}",
            "--initial-cluster-state=new",
            f"--cert-file={cert}",
            f"--key-file={key}",
            f"--trusted-ca-file={ca_file}",
            "--client-cert-auth",
            f"--peer-cert-file={cert}",
            f"--peer-key-file={key}",
            f"--peer-trusted-ca-file={ca_file}",
            "--peer-client-cert-auth",
            "--logger=zap",
            "--log-outputs=stderr",
            *self._flags,
        ]
        with open(member.directory / "etcd.log", "ab") as log_file:
            self._processes[index] = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # etcd reads ETCD_* variables as flags; none of the caller's may leak in.
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )

    async def _end(self, index: int, sig: signal.Signals) -> None:
        process = self._processes[index]
        if process is None or process.poll() is not None:
            self._processes[index] = None
            return
        process.send_signal(sig)
        try:
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        self._processes[index] = None
        log.info("etcd_member_ended", member=self._members[index].name, signal=sig.name)

    async def _wait_ready(self, indexes: range | list[int], need_leader: bool = True) -> None:
        """Bounded wait until each member answers Status (and knows a leader if asked)."""
        async with asyncio.timeout(READY_TIMEOUT):
            pending = list(indexes)
            while pending:
                for index in list(pending):
                    process = self._processes[index]
                    if process is None or process.poll() is not None:
                        raise RuntimeError(f"etcd member {index} exited; see {self._members[index].directory}/etcd.log")
                    status = await self._status(index)
                    if status is not None and (status.leader or not need_leader):
                        pending.remove(index)
                if pending:
                    await asyncio.sleep(_PROBE_INTERVAL)

    async def _status(self, index: int) -> rpc.StatusResponse | None:
        """One member's Status, or None if it does not answer."""
        store = self.store_for(ROOT, [index], timeout=1.0)
        try:
            with map_etcd_errors():
                return await rpc.MaintenanceStub(store.admin_channel()).Status(rpc.StatusRequest(), timeout=1.0)
        except StoreUnavailable:
            return None
        finally:
            await store.close()


def _free_port() -> int:
    """A port the kernel just gave out on loopback; etcd binds it right after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _fetch(url: str) -> str:
    # No proxy: the metrics listener is on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5.0) as response:
        return str(response.read().decode())
