"""The sidecar process: listeners, health, and the ordered shutdown.

Start: load certificates and config, bind the listeners, then report SERVING.
Stop (SIGTERM): NOT_SERVING → stop accepting → drain in-flight calls up to the grace period
→ close upstream channels → exit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from certs.bundle import check_key_file_mode
from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from certs.verify import PeerRejected, identity_from_pem
from sidecar.channels import PeerChannels, TlsMaterial, app_channel, base_options
from sidecar.errors import ConfigError
from sidecar.identity import PeerIdentities
from sidecar.inbound import Inbound
from sidecar.outbound import Outbound
from sidecar.proxy import Proxy
from sidecar.settings import Settings
from sidecar.snapshot import from_static_routes

import grpc

HEALTH_SERVICE = "tsunagi.sidecar"
log = structlog.get_logger("sidecar")


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

    @classmethod
    async def start(cls, settings: Settings) -> "Sidecar":
        """Bind everything; SERVING only once certificates and config are loaded."""
        try:
            trust_domain = parse_spiffe_id(settings.spiffe_id).trust_domain
        except InvalidSpiffeId as exc:
            raise ConfigError([f"identity.spiffeId: {exc}"]) from None
        tls = load_tls(settings)
        options = base_options(settings.max_message_bytes)
        checker = health.aio.HealthServicer()
        admin = aio.server(options=options)
        health_pb2_grpc.add_HealthServicer_to_server(checker, admin)
        for name in ("", HEALTH_SERVICE):
            await checker.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        _bind(admin, settings.admin, None)
        peers = PeerChannels(tls, settings.max_message_bytes)
        servers: list[aio.Server] = []
        proxies: list[Proxy] = []
        outbound = inbound = None
        app = None
        snapshot = from_static_routes(list(settings.config.routes))
        if settings.outbound is not None:
            outbound = Outbound(settings.spiffe_id, peers)
            outbound.snapshot = snapshot
            proxies.append(Proxy(outbound))
            server = aio.server(options=options)
            server.add_generic_rpc_handlers([proxies[-1]])
            _bind(server, settings.outbound, None)
            servers.append(server)
        if settings.inbound is not None and settings.upstream is not None:
            app = app_channel(settings.upstream, settings.max_message_bytes)
            inbound = Inbound(settings.spiffe_id, PeerIdentities(trust_domain), app)
            inbound.ready = True
            proxies.append(Proxy(inbound))
            age_ms = int(settings.max_connection_age_seconds * 1000)
            server = aio.server(options=[
                *options,
                # Rotation and revocation reach open connections: each one is closed
                # gracefully once it reaches this age, and the peer reconnects.
                ("grpc.max_connection_age_ms", age_ms),
                ("grpc.max_connection_age_grace_ms", int(settings.drain_seconds * 1000)),
            ])
            server.add_generic_rpc_handlers([proxies[-1]])
            credentials = grpc.ssl_server_credentials(
                [(tls.key_pem, tls.chain_pem)],
                root_certificates=tls.bundle_pem,
                require_client_auth=True,
            )
            _bind(server, settings.inbound, credentials)
            servers.append(server)
        await admin.start()
        for server in servers:
            await server.start()
        for name in ("", HEALTH_SERVICE):
            await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("sidecar_started", identity=settings.spiffe_id, outbound=settings.outbound,
                 inbound=settings.inbound, admin=settings.admin, revision=snapshot.revision)
        return cls(settings, checker, servers, admin, peers, app, outbound, inbound, proxies)

    async def drain(self) -> None:
        """Ordered shutdown: NOT_SERVING, stop accepting, drain, close, exit."""
        await self.health.enter_graceful_shutdown()
        in_flight = sum(p.in_flight for p in self.proxies)
        log.info("sidecar_draining", in_flight=in_flight, grace_s=self.settings.drain_seconds)
        await asyncio.gather(*(s.stop(self.settings.drain_seconds) for s in self.servers))
        await self.peers.close()
        if self.app is not None:
            await self.app.close()
        await self.admin.stop(None)
        log.info("sidecar_stopped", identity=self.settings.spiffe_id)


def _bind(server: aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> None:
    try:
        if credentials is None:
            server.add_insecure_port(address)
        else:
            server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        raise ConfigError([f"cannot listen on {address}: {exc}"]) from None
