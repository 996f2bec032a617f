"""The sidecar process: listeners, health, and the ordered shutdown.

Start: load certificates and config, bind the listeners, then report SERVING. With an etcd
config source the sidecar starts with the last-known-good config (or none: NOT_SERVING, every
call denied) and its ConfigClient (`Sidecar.config`, run by the caller's TaskGroup) drives
readiness from then on.
Stop (SIGTERM): NOT_SERVING → stop accepting → drain in-flight calls up to the grace period
→ close upstream channels → exit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any
from dataclasses import dataclass

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from certs.bundle import check_key_file_mode, load_bundle
from certs.ca import Issued
from mesh.audit import AuditLog, AuditSettings, CheckpointSink, MemoryCheckpointSink
from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from certs.verify import PeerRejected, identity_from_pem
from sidecar.certificates import Certificates, DynamicServerCredentials, Identity, not_after
from sidecar.channels import PeerChannels, TlsMaterial, app_channel, base_options
from mesh.v1 import sidecar_api_pb2_grpc
from sidecar.allowed import MeshSidecar
from sidecar.audit import Auditor
from sidecar.checkpoints import ControlPlaneSink
from sidecar.reporter import Report, Reporter
from sidecar.config_client import ApplyHook, ConfigClient, etcd_store
from sidecar.errors import ConfigError
from sidecar.identity import PeerIdentities
from sidecar.inbound import Inbound
from sidecar.lkg import LastKnownGood
from sidecar.outbound import Outbound
from sidecar.proxy import Proxy
from sidecar.settings import Settings
from sidecar.snapshot import Snapshot, from_static_routes

import grpc

HEALTH_SERVICE = "tsunagi.sidecar"
log = structlog.get_logger("sidecar")


def identity_of(settings: Settings) -> Identity:
    return Identity(settings.spiffe_id, settings.cert_file, settings.key_file, settings.bundle_file,
                    settings.control_plane, settings.control_plane_id, settings.join_address,
                    settings.join_token_file)


async def obtain_tls(settings: Settings, certificates: Certificates) -> TlsMaterial:
    """The certificate on disk, or (when there is none and join is configured) a new one."""
    if not settings.cert_file.exists() and settings.join_address is not None:
        try:
            await certificates.join()
        except (grpc.RpcError, OSError, RuntimeError) as exc:
            detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)  # type: ignore[attr-defined]
            raise ConfigError([f"join: {detail}"]) from None
    return load_tls(settings)


def load_tls(settings: Settings) -> TlsMaterial:
    """Read the PEM files and check that the certificate is the configured identity."""
    problems: list[str] = []
    try:
        check_key_file_mode(settings.key_file)
        tls = TlsMaterial(
            chain_pem=settings.cert_file.read_bytes(),
            key_pem=settings.key_file.read_bytes(),
            bundle_pem=settings.bundle_file.read_bytes(),
        )
    except (OSError, ValueError) as exc:
        raise ConfigError([f"identity: {exc}"]) from None
    trust_domain = parse_spiffe_id(settings.spiffe_id).trust_domain
    try:
        found = str(identity_from_pem(tls.chain_pem, trust_domain))
    except PeerRejected as exc:
        problems.append(f"identity.certFile: {exc.reason}")
    else:
        if found != settings.spiffe_id:
            problems.append(f"identity.certFile: certificate is for {found}, not {settings.spiffe_id}")
    if problems:
        raise ConfigError(problems)
    return tls


@dataclass(slots=True)
class Sidecar:
    """A running sidecar: its servers, sides and health."""

    settings: Settings
    health: health.aio.HealthServicer
    servers: list[aio.Server]
    admin: aio.Server
    peers: PeerChannels
    app: aio.Channel | None
    outbound: Outbound | None
    inbound: Inbound | None
    proxies: list[Proxy]
    identities: PeerIdentities | None = None
    # Present when the config comes from etcd; its run() belongs to the caller's TaskGroup.
    config: ConfigClient | None = None
    certificates: Certificates | None = None
    server_tls: DynamicServerCredentials | None = None
    reporter: Reporter | None = None
    tls: TlsMaterial | None = None
    local_bundle_pem: bytes = b""
    audit_log: AuditLog | None = None
    # The snapshot most recently swapped in (what status reports as applied).
    applied: Snapshot | None = None
    checkpoint_sink: ControlPlaneSink | None = None

    def background(self) -> list[Coroutine[Any, Any, None]]:
        """The long-lived work this sidecar needs, for the caller's TaskGroup."""
        work: list[Coroutine[Any, Any, None]] = []
        if self.config is not None:
            work.append(self.config.run())
        if self.certificates is not None:
            work.append(self.certificates.run())
        if self.reporter is not None:
            work.append(self.reporter.run())
        if self.audit_log is not None:
            work.append(self.audit_log.run())
        return work

    def identity(self) -> Issued:
        """The current certificate and key, for signing audit checkpoints."""
        assert self.tls is not None
        chain = x509.load_pem_x509_certificates(self.tls.chain_pem)
        key = serialization.load_pem_private_key(self.tls.key_pem, password=None)
        return Issued(cert=chain[0], key=key, chain=tuple(chain[1:]))  # type: ignore[arg-type]

    async def rotate(self, tls: TlsMaterial) -> None:
        """New certificate or trust roots: new handshakes use them; open calls finish."""
        self.tls = tls
        if self.server_tls is not None:
            self.server_tls.update(tls)
        await self.peers.rotate(tls, self.settings.drain_seconds)
        if self.reporter is not None:
            self.reporter.poke()
        log.info("tls_rotated", identity=self.settings.spiffe_id)

    def report(self) -> Report:
        status = self.config.status() if self.config is not None else None
        errors = [e for e in ((status.last_error if status else ""),
                              (self.certificates.last_error if self.certificates else "")) if e]
        expiry = not_after(self.tls.chain_pem).timestamp() if self.tls else 0.0
        applied = self.applied
        return Report(applied_version=applied.version if applied else 0,
                      config_hash=applied.config_hash if applied else "",
                      last_error="; ".join(errors), source=status.source if status else "static",
                      certificate_expiry=expiry, counters=dict(status.counters) if status else {})

    @classmethod
    async def start(cls, settings: Settings) -> "Sidecar":
        """Bind everything; SERVING only once certificates and config are loaded."""
        try:
            trust_domain = parse_spiffe_id(settings.spiffe_id).trust_domain
        except InvalidSpiffeId as exc:
            raise ConfigError([f"identity.spiffeId: {exc}"]) from None
        certificates = Certificates(identity_of(settings))
        tls = await obtain_tls(settings, certificates)
        certificates.tls = tls
        # Everything that can refuse the config is checked before anything is bound.
        make_config = _config_source(settings) if settings.etcd is not None else None
        options = base_options(settings.max_message_bytes)
        checker = health.aio.HealthServicer()
        admin = aio.server(options=options)
        health_pb2_grpc.add_HealthServicer_to_server(checker, admin)
        for name in ("", HEALTH_SERVICE):
            await checker.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        _bind(admin, settings.admin, None)
        peers = PeerChannels(tls, settings.max_message_bytes)
        holder: list[Sidecar] = []  # the Sidecar, once built: audit identity and sink read it
        audit_log, auditor, sink = _audit(settings, holder)
        servers: list[aio.Server] = []
        proxies: list[Proxy] = []
        outbound = inbound = None
        app = None
        # From etcd: nothing until a verified config is applied (every call is denied).
        snapshot = None if settings.etcd is not None else from_static_routes(list(settings.config.routes))
        identities = None
        if settings.outbound is not None:
            outbound = Outbound(settings.spiffe_id, peers)
            outbound.snapshot = snapshot
            proxies.append(Proxy(outbound, auditor))
            server = aio.server(options=options)
            # The metaservice first: the proxy would otherwise take every method.
            sidecar_api_pb2_grpc.add_MeshSidecarServicer_to_server(MeshSidecar(outbound), server)
            server.add_generic_rpc_handlers([proxies[-1]])
            _bind(server, settings.outbound, None)
            servers.append(server)
        if settings.inbound is not None and settings.upstream is not None:
            app = app_channel(settings.upstream, settings.max_message_bytes)
            identities = PeerIdentities(trust_domain)
            inbound = Inbound(settings.spiffe_id, identities, app)
            inbound.snapshot = snapshot
            proxies.append(Proxy(inbound, auditor))
            age_ms = int(settings.max_connection_age_seconds * 1000)
            server = aio.server(options=[
                *options,
                # Rotation and revocation reach open connections: each one is closed
                # gracefully once it reaches this age, and the peer reconnects.
                ("grpc.max_connection_age_ms", age_ms),
                ("grpc.max_connection_age_grace_ms", int(settings.drain_seconds * 1000)),
            ])
            server.add_generic_rpc_handlers([proxies[-1]])
            server_tls = DynamicServerCredentials(tls)
            _bind(server, settings.inbound, server_tls.credentials)
            servers.append(server)
        if settings.health is not None:
            # kubelet probes: health and nothing else, so it may listen off loopback.
            probe = aio.server(options=options)
            health_pb2_grpc.add_HealthServicer_to_server(checker, probe)
            _bind(probe, settings.health, None)
            servers.append(probe)
        sidecar = cls(settings, checker, servers, admin, peers, app, outbound, inbound, proxies,
                      identities)
        sidecar.tls, sidecar.local_bundle_pem = tls, tls.bundle_pem
        sidecar.audit_log, sidecar.checkpoint_sink = audit_log, sink
        holder.append(sidecar)
        if audit_log is not None:
            try:
                await audit_log.open()  # available before the first call, not after it
            except OSError as exc:
                log.error("audit_open_failed", reason=str(exc))  # run() keeps trying; calls are refused
        sidecar.server_tls = server_tls if inbound is not None else None
        if settings.control_plane is not None:
            sidecar.certificates = certificates
            certificates.on_rotate = sidecar.rotate
            sidecar.reporter = Reporter(settings.control_plane, settings.control_plane_id,
                                        sidecar.report, lambda: sidecar.tls)  # type: ignore[arg-type,return-value]
        if make_config is not None:
            sidecar.config = make_config(sidecar.apply_config)
        await admin.start()
        for server in servers:
            await server.start()
        if sidecar.config is not None:
            await sidecar.config.restore()
            revision = sidecar.config.status().revision
        else:
            await sidecar._set_serving()
            revision = snapshot.revision if snapshot is not None else 0
        log.info("sidecar_started", identity=settings.spiffe_id, outbound=settings.outbound,
                 inbound=settings.inbound, admin=settings.admin,
                 config="etcd" if settings.etcd is not None else "static", revision=revision)
        return sidecar

    async def apply_config(self, snapshot: Snapshot) -> None:
        """Swap in a verified snapshot: one assignment per reader, then SERVING."""
        self.applied = snapshot
        if self.outbound is not None:
            self.outbound.snapshot = snapshot
        if self.identities is not None:
            self.identities.denied = snapshot.denied
        if self.inbound is not None:
            self.inbound.snapshot = snapshot
        await self._set_serving()
        if self.tls is not None:
            bundle = self.local_bundle_pem + b"".join(snapshot.trust_roots_pem)
            if bundle != self.tls.bundle_pem:  # the distributed trust bundle changed
                await self.rotate(TlsMaterial(self.tls.chain_pem, self.tls.key_pem, bundle))
        if self.reporter is not None:
            self.reporter.poke()

    async def _set_serving(self) -> None:
        # After enter_graceful_shutdown the servicer ignores this, so a late apply cannot
        # undo NOT_SERVING during drain.
        for name in ("", HEALTH_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def drain(self) -> None:
        """Ordered shutdown: NOT_SERVING, stop accepting, drain, close, exit."""
        await self.health.enter_graceful_shutdown()
        in_flight = sum(p.in_flight for p in self.proxies)
        log.info("sidecar_draining", in_flight=in_flight, grace_s=self.settings.drain_seconds)
        await asyncio.gather(*(s.stop(self.settings.drain_seconds) for s in self.servers))
        if self.audit_log is not None:
            await self.audit_log.close()  # every queued record is written before we exit
        if self.checkpoint_sink is not None:
            await self.checkpoint_sink.close()
        if self.config is not None:
            await self.config.close()
        await self.peers.close()
        if self.app is not None:
            await self.app.close()
        await self.admin.stop(None)
        log.info("sidecar_stopped", identity=self.settings.spiffe_id)


def _audit(settings: Settings, holder: list["Sidecar"]) -> tuple[AuditLog | None, Auditor | None,
                                                              ControlPlaneSink | None]:
    """The audit log, its data-path adapter and (with a control plane) the witness sink."""
    if settings.audit_dir is None:
        return None, None, None
    try:
        settings.audit_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError([f"audit.directory: {exc}"]) from None
    sink: ControlPlaneSink | None = None
    checkpoint_sink: CheckpointSink = MemoryCheckpointSink()  # checkpoints stay in the log only
    if settings.control_plane is not None:
        sink = ControlPlaneSink(settings.control_plane, settings.control_plane_id,
                                lambda: holder[0].tls)  # type: ignore[arg-type,return-value]
        checkpoint_sink = sink
    audit_log = AuditLog(settings.audit_dir, lambda: holder[0].identity(), checkpoint_sink,
                         AuditSettings(checkpoint_every=settings.audit_checkpoint_every,
                                       checkpoint_interval=settings.audit_checkpoint_seconds,
                                       batch_linger=settings.audit_batch_linger_seconds,
                                       sync_interval=settings.audit_sync_interval_seconds))
    return audit_log, Auditor(audit_log, settings.spiffe_id), sink


def _config_source(settings: Settings) -> Callable[[ApplyHook], ConfigClient]:
    """Check an etcd config source and return how to make its ConfigClient. The state
    directory is created (0700) if missing."""
    assert settings.etcd is not None and settings.state_dir is not None
    try:
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError([f"stateDir: {exc}"]) from None
    try:
        local_roots = load_bundle(settings.bundle_file)
    except (OSError, ValueError) as exc:
        raise ConfigError([f"identity.bundleFile: {exc}"]) from None
    store = etcd_store(settings.etcd)
    lkg = LastKnownGood(settings.state_dir)

    def make(on_apply: ApplyHook) -> ConfigClient:
        return ConfigClient(store, lkg, local_roots, settings.spiffe_id, on_apply)

    return make


def _bind(server: aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> None:
    try:
        if credentials is None:
            server.add_insecure_port(address)
        else:
            server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        raise ConfigError([f"cannot listen on {address}: {exc}"]) from None
