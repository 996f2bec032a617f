"""StatusService: each sidecar reports what it has applied; operators list the live ones.

A report is stored under a lease, so a sidecar that stops reporting disappears. The
identity in a report is always the one from the caller's certificate.
"""

from __future__ import annotations

from datetime import datetime, timezone

from grpc import aio

from certs.spiffe_id import parse_spiffe_id
from control_plane.authz import Authorizer
from control_plane.errors import Forbidden, Invalid, FieldError, Unavailable
from control_plane.identity import caller_identity
from control_plane.repository import Repository
from mesh import keys
from mesh.store.base import Store
from mesh.store.errors import LeaseNotFound, StoreError
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc

MAX_INSTANCE = 64


class StatusService(api_grpc.StatusServiceServicer):
    def __init__(self, store: Store, repository: Repository, authz: Authorizer, ttl_seconds: int) -> None:
        self._store = store
        self._repo = repository
        self._authz = authz
        self._ttl = ttl_seconds
        self._leases: dict[str, int] = {}

    async def Report(self, request: api.SidecarStatus, context: aio.ServicerContext) -> api.ReportResponse:
        identity = caller_identity(context, self._repo.trust_domain)
        if parse_spiffe_id(identity).system is None:
            raise Forbidden(f"{identity} is not a workload identity")
        if not request.instance or len(request.instance) > MAX_INSTANCE or "/" in request.instance:
            raise Invalid([FieldError("instance", f"required, at most {MAX_INSTANCE} characters, no '/'")])
        status = api.SidecarStatus()
        status.CopyFrom(request)
        status.spiffe_id = identity  # never what the message claims
        status.reported_at.FromDatetime(datetime.now(timezone.utc))
        key = keys.status_key(identity, request.instance)
        try:
            lease = await self._lease(key)
            await self._store.put(key.encode(), status.SerializeToString(), lease=lease)
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        return api.ReportResponse()

    async def _lease(self, key: str) -> int:
        lease = self._leases.get(key)
        if lease is not None:
            try:
                await self._store.keepalive_once(lease)
                return lease
            except LeaseNotFound:
                pass
        lease = await self._store.grant_lease(self._ttl)
        self._leases[key] = lease
        return lease

    async def List(self, request: api.ListStatusRequest, context: aio.ServicerContext) -> api.ListStatusResponse:
        identity = caller_identity(context, self._repo.trust_domain)
        self._authz.require_operator(identity)
        try:
            kvs, _ = await self._store.range(keys.STATUS_PREFIX.encode())
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        sidecars = []
        for kv in kvs:
            status = api.SidecarStatus()
            status.ParseFromString(kv.value)
            sidecars.append(status)
        loaded = await self._repo.load()
        return api.ListStatusResponse(sidecars=sidecars, config_version=loaded.version)
