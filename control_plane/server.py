"""The control-plane process: API listener (mTLS), join listener (TLS), health, bootstrap.

Start: connect to etcd, make sure the signer chain and the trust bundle are in the config,
bind listeners, report SERVING. Stop: NOT_SERVING, stop accepting, drain, close etcd.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import grpc
import structlog
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from control_plane.audit_service import AuditService
from control_plane.authz import Authorizer
from control_plane.ca_service import CertificateAuthority
from control_plane.config_service import ConfigService
from control_plane.interceptor import ErrorInterceptor
from control_plane.leader import Elector, compact_history
from control_plane.repository import Repository
from control_plane.revocation_service import RevocationService
from control_plane.settings import Settings
from control_plane.status_service import StatusService
from mesh import keys
from mesh.store.etcd import EtcdStore
from mesh.v1 import audit_service_pb2_grpc as audit_grpc
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc
from mesh.v1 import revocation_pb2_grpc as revocation_grpc
from mesh.v1 import signed_pb2

log = structlog.get_logger("control_plane")
HEALTH_SERVICE = "tsunagi.control_plane"
_OPTIONS = [("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 16 * 1024 * 1024)]


class JoinOnly(api_grpc.CertificateAuthorityServicer):
    """The join listener serves Join and nothing else (no client certificate there)."""

    def __init__(self, ca: CertificateAuthority) -> None:
        self._ca = ca

    async def Join(self, request: api.JoinRequest, context: aio.ServicerContext) -> api.CertificateResponse:
        return await self._ca.Join(request, context)


@dataclass(slots=True)
class ControlPlane:
    settings: Settings
    store: EtcdStore
    servers: list[aio.Server]
    health: health.aio.HealthServicer
    elector: Elector

    async def background(self) -> None:
        """Once-only work (etcd history compaction), on the elected replica only."""
        await self.elector.run(lambda: compact_history(self.store))

    @classmethod
    async def start(cls, settings: Settings) -> "ControlPlane":
        store = EtcdStore(settings.etcd_endpoints, settings.etcd_ca_pem, settings.etcd_cert_pem,
                          settings.etcd_key_pem)
        repo = Repository(store, settings.signer, settings.signer_chain_pem, settings.roots,
                          settings.trust_domain)
        await repo.resign("control-plane")
        bundle = signed_pb2.TrustBundle(roots_pem=[settings.bundle_pem])
        version = await repo.put_internal(keys.TRUST_BUNDLE_KEY, bundle, "control-plane")
        authz = Authorizer(settings.bindings)
        ca = CertificateAuthority(store, settings.issuer, settings.bundle_pem, settings.trust_domain,
                                  authz, settings.workload_ttl, repo)
        checker = health.aio.HealthServicer()
        admin = aio.server(options=_OPTIONS)
        health_pb2_grpc.add_HealthServicer_to_server(checker, admin)
        admin.add_insecure_port(settings.config.admin)
        api_server = aio.server(interceptors=[ErrorInterceptor()], options=_OPTIONS)
        api_grpc.add_ConfigServiceServicer_to_server(ConfigService(repo, authz), api_server)
        api_grpc.add_StatusServiceServicer_to_server(
            StatusService(store, repo, authz, settings.status_ttl_seconds), api_server)
        api_grpc.add_CertificateAuthorityServicer_to_server(ca, api_server)
        revocation_grpc.add_RevocationServiceServicer_to_server(RevocationService(repo, authz), api_server)
        audit_grpc.add_AuditServiceServicer_to_server(
            AuditService(store, settings.roots, settings.trust_domain, authz), api_server)
        api_server.add_secure_port(settings.config.listen, grpc.ssl_server_credentials(
            [(settings.serving_key_pem, settings.serving_chain_pem)],
            root_certificates=settings.bundle_pem, require_client_auth=True))
        servers = [api_server, admin]
        if settings.config.health:
            # kubelet probes: health and nothing else, so it may listen off loopback.
            probe = aio.server(options=_OPTIONS)
            health_pb2_grpc.add_HealthServicer_to_server(checker, probe)
            probe.add_insecure_port(settings.config.health)
            servers.append(probe)
        if settings.config.join_listen:
            join = aio.server(interceptors=[ErrorInterceptor()], options=_OPTIONS)
            api_grpc.add_CertificateAuthorityServicer_to_server(JoinOnly(ca), join)
            join.add_secure_port(settings.config.join_listen, grpc.ssl_server_credentials(
                [(settings.serving_key_pem, settings.serving_chain_pem)]))
            servers.append(join)
        for server in servers:
            await server.start()
        await checker.set("", health_pb2.HealthCheckResponse.SERVING)
        await checker.set(HEALTH_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        log.info("control_plane_started", listen=settings.config.listen,
                 join=settings.config.join_listen, config_version=version)
        elector = Elector(store, f"{settings.config.listen}#{secrets.token_hex(4)}")
        return cls(settings, store, servers, checker, elector)

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        for server in self.servers:
            await server.stop(grace)
        await self.store.close()
        log.info("control_plane_stopped")
