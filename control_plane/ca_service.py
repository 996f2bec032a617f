"""CertificateAuthority: workload certificates for sidecars.

Join: a one-time token, scoped to one SPIFFE ID and expiring, plus a CSR; the token is
consumed atomically (a second use fails even when racing). Renew: authenticated by the
current certificate, and only ever for that same identity. Tokens are stored as hashes.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from cryptography import x509
from grpc import aio

from certs.ca import InvalidCsr, Issued, sign_csr
from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from control_plane.authz import Authorizer
from control_plane.errors import FieldError, Forbidden, Invalid, Unauthenticated, Unavailable
from control_plane.identity import caller_identity
from control_plane.repository import Repository
from mesh import keys
from mesh.store.base import Compare, Delete, Put, Store
from mesh.store.errors import StoreError
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc

DEFAULT_TOKEN_TTL = timedelta(hours=1)
MAX_TOKEN_TTL = timedelta(hours=24)


def token_key(token: str) -> str:
    return keys.TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


class CertificateAuthority(api_grpc.CertificateAuthorityServicer):
    def __init__(self, store: Store, issuer: Issued, bundle_pem: bytes, trust_domain: str,
                 authz: Authorizer, workload_ttl: timedelta, repository: Repository) -> None:
        self._store = store
        self._issuer = issuer
        self._bundle = bundle_pem
        self._td = trust_domain
        self._authz = authz
        self._ttl = workload_ttl
        self._repo = repository

    async def _issue(self, spiffe_id: str, csr_pem: bytes) -> api.CertificateResponse:
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
            issued = await asyncio.to_thread(sign_csr, self._issuer, csr, spiffe_id, self._ttl)
        except (ValueError, InvalidCsr) as exc:
            raise Invalid([FieldError("csrPem", f"not a valid signed CSR: {exc}")]) from None
        response = api.CertificateResponse(certificate_chain_pem=issued.chain_pem(),
                                           trust_bundle_pem=self._bundle, spiffe_id=spiffe_id)
        response.not_after.FromDatetime(issued.cert.not_valid_after_utc)
        return response

    async def Join(self, request: api.JoinRequest, context: aio.ServicerContext) -> api.CertificateResponse:
        key = token_key(request.token)
        try:
            kv = await self._store.get(key.encode())
            if kv is None:
                raise Unauthenticated("join token unknown or already used")
            # Consume first: whatever happens next, the token is spent exactly once.
            spent = await self._store.txn([Compare(key.encode(), kv.mod_revision)], [Delete(key.encode())])
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        if not spent.succeeded:
            raise Unauthenticated("join token unknown or already used")
        record = api.JoinTokenRecord()
        record.ParseFromString(kv.value)
        if record.expires_at.ToDatetime(timezone.utc) < datetime.now(timezone.utc):
            raise Unauthenticated("join token expired")
        spiffe_id = record.spiffe_id
        if spiffe_id in await self._repo.denied():
            raise Forbidden(f"{spiffe_id} is on the deny-list")
        return await self._issue(spiffe_id, request.csr_pem)

    async def Renew(self, request: api.RenewRequest, context: aio.ServicerContext) -> api.CertificateResponse:
        identity = caller_identity(context, self._td)
        if parse_spiffe_id(identity).system is None:
            raise Forbidden(f"{identity} is not a workload identity")
        if identity in await self._repo.denied():
            raise Forbidden(f"{identity} is on the deny-list")
        return await self._issue(identity, request.csr_pem)

    async def CreateJoinToken(self, request: api.CreateJoinTokenRequest, context: aio.ServicerContext) -> api.CreateJoinTokenResponse:
        actor = caller_identity(context, self._td)
        try:
            sid = parse_spiffe_id(request.spiffe_id)
        except InvalidSpiffeId as exc:
            raise Invalid([FieldError("spiffeId", str(exc))]) from None
        if sid.trust_domain != self._td or sid.system is None or sid.org is None:
            raise Invalid([FieldError("spiffeId", f"must be spiffe://{self._td}/org/<org>/sys/<system>")])
        if not self._authz.can_mint_token_for(actor, sid.org):
            raise Forbidden(f"{actor} may not create join tokens for org {sid.org}")
        ttl = request.ttl.ToTimedelta() if request.HasField("ttl") else DEFAULT_TOKEN_TTL
        if not timedelta(seconds=1) <= ttl <= MAX_TOKEN_TTL:
            raise Invalid([FieldError("ttl", "must be between 1s and 24h")])
        token = secrets.token_urlsafe(32)
        expires = datetime.now(timezone.utc) + ttl
        record = api.JoinTokenRecord(spiffe_id=request.spiffe_id, created_by=actor)
        record.expires_at.FromDatetime(expires)
        try:
            lease = await self._store.grant_lease(max(1, int(ttl.total_seconds())) + 60)
            await self._store.txn([], [Put(token_key(token).encode(), record.SerializeToString(), lease)])
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        response = api.CreateJoinTokenResponse(token=token)
        response.expires_at.FromDatetime(expires)
        return response

