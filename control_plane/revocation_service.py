"""RevocationService: the deny-list, written like config so every sidecar gets it from etcd."""

from __future__ import annotations

from datetime import datetime, timezone

from grpc import aio

from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from control_plane.authz import Authorizer
from control_plane.errors import FieldError, Forbidden, Invalid
from control_plane.identity import caller_identity
from control_plane.repository import Repository
from mesh import keys
from mesh.v1 import revocation_pb2 as api
from mesh.v1 import revocation_pb2_grpc as api_grpc
from mesh.v1 import signed_pb2

MAX_REASON = 200


class RevocationService(api_grpc.RevocationServiceServicer):
    def __init__(self, repository: Repository, authz: Authorizer) -> None:
        self._repo = repository
        self._authz = authz

    def _targets(self, actor: str, spiffe_ids: list[str]) -> list[str]:
        errors = []
        for i, value in enumerate(spiffe_ids):
            try:
                sid = parse_spiffe_id(value)
            except InvalidSpiffeId as exc:
                errors.append(FieldError(f"spiffeIds[{i}]", str(exc)))
                continue
            if sid.trust_domain != self._repo.trust_domain or sid.org is None:
                errors.append(FieldError(f"spiffeIds[{i}]", f"must be an identity of {self._repo.trust_domain}"))
            elif not self._authz.can_mint_token_for(actor, sid.org):
                raise Forbidden(f"{actor} may not revoke identities of org {sid.org}")
        if not spiffe_ids:
            errors.append(FieldError("spiffeIds", "at least one"))
        if errors:
            raise Invalid(errors)
        return spiffe_ids

    async def _current(self) -> signed_pb2.DenyList:
        found = await self._repo.internal(keys.DENYLIST_KEY, signed_pb2.DenyList())
        return found if isinstance(found, signed_pb2.DenyList) else signed_pb2.DenyList()

    async def Revoke(self, request: api.RevokeRequest, context: aio.ServicerContext) -> api.DenyListResponse:
        actor = caller_identity(context, self._repo.trust_domain)
        targets = self._targets(actor, list(request.spiffe_ids))
        if not request.reason.strip() or len(request.reason) > MAX_REASON:
            raise Invalid([FieldError("reason", f"required, at most {MAX_REASON} characters")])
        deny = await self._current()
        present = {e.spiffe_id for e in deny.entries}
        for spiffe_id in targets:
            if spiffe_id not in present:
                entry = deny.entries.add(spiffe_id=spiffe_id, reason=request.reason)
                entry.denied_at.FromDatetime(datetime.now(timezone.utc))
        version = await self._repo.put_internal(keys.DENYLIST_KEY, deny, actor)
        return api.DenyListResponse(deny_list=deny, config_version=version)

    async def Reinstate(self, request: api.ReinstateRequest, context: aio.ServicerContext) -> api.DenyListResponse:
        actor = caller_identity(context, self._repo.trust_domain)
        targets = set(self._targets(actor, list(request.spiffe_ids)))
        deny = await self._current()
        kept = [e for e in deny.entries if e.spiffe_id not in targets]
        del deny.entries[:]
        deny.entries.extend(kept)
        version = await self._repo.put_internal(keys.DENYLIST_KEY, deny, actor)
        return api.DenyListResponse(deny_list=deny, config_version=version)

    async def List(self, request: api.ListDeniedRequest, context: aio.ServicerContext) -> api.DenyListResponse:
        actor = caller_identity(context, self._repo.trust_domain)
        self._authz.require_operator(actor)
        loaded = await self._repo.load()
        return api.DenyListResponse(deny_list=await self._current(), config_version=loaded.version)
