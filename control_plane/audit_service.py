"""AuditService: the witness of the sidecars' audit logs. Sidecars submit their own signed
checkpoints; operators list them to verify a log file against what left the sidecar.

Per (writer, log_id) the store holds the latest checkpoint and a ring of the last `history`
accepted ones (slot = the latest key's etcd version mod `history`), written in one
transaction that compares the latest's mod_revision, so the witness never goes backwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

import structlog
from cryptography import x509
from grpc import aio

from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from control_plane.authz import Authorizer
from control_plane.errors import Conflict, FieldError, Forbidden, Invalid, PreconditionFailed, Unavailable
from control_plane.identity import caller_identity
from mesh import keys
from mesh.audit.checkpoint import spiffe_id_of, verify_checkpoint
from mesh.audit.errors import CheckpointRejected
from mesh.store.base import Compare, KeyValue, Put, Store
from mesh.store.errors import StoreError
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2 as api
from mesh.v1 import audit_service_pb2_grpc as api_grpc

log = structlog.get_logger("control_plane.audit")

HISTORY = 100             # accepted checkpoints kept per log, besides the latest
MAX_LIST = 10_000         # checkpoints one ListCheckpoints may return
MAX_CHAIN_PEM = 16 * 1024  # a leaf and an intermediate take ~1.5 KiB
MAX_SIGNATURE = 80        # a DER ECDSA P-256 signature takes at most 72 bytes
CLOCK_SKEW = timedelta(minutes=5)  # how far a checkpoint's time may lie ahead of ours
_ATTEMPTS = 3             # compare-and-swap rounds before giving up with ABORTED
_LOG_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_HASH = re.compile(r"[0-9a-f]{64}")


class AuditService(api_grpc.AuditServiceServicer):
    """Keeps each sidecar's checkpoints as the witness (see proto/mesh/v1/audit_service.proto)."""

    def __init__(self, store: Store, roots: Sequence[x509.Certificate], trust_domain: str,
                 authz: Authorizer, history: int = HISTORY,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        if not roots:
            raise ValueError("the witness needs trust roots to verify signers against")
        if history < 1:
            raise ValueError("history must keep at least one checkpoint")
        self._store = store
        self._roots = list(roots)
        self._trust_domain = trust_domain
        self._authz = authz
        self._history = history
        self._clock = clock

    async def SubmitCheckpoint(self, request: audit_pb2.AuditCheckpoint,
                               context: aio.ServicerContext) -> api.SubmitCheckpointResponse:
        writer = caller_identity(context, self._trust_domain)
        if parse_spiffe_id(writer).system is None:
            raise Forbidden(f"{writer} is not a workload identity: only sidecars submit checkpoints")
        problems = _problems(request, self._clock())
        if problems:
            raise Invalid(problems)
        await self._verify(request, writer)
        return await self._store_checkpoint(request, writer)

    async def ListCheckpoints(self, request: api.ListCheckpointsRequest,
                              context: aio.ServicerContext) -> audit_pb2.AuditCheckpoints:
        self._authz.require_operator(caller_identity(context, self._trust_domain))
        _check_filters(request, self._trust_domain)
        try:
            kvs, _ = await self._store.range(keys.checkpoint_prefix(request.spiffe_id, request.log_id).encode())
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        found: list[tuple[str, str, int, audit_pb2.AuditCheckpoint]] = []
        for kv in kvs:
            parsed = keys.parse_checkpoint_key(kv.key.decode())
            if parsed is None:
                continue
            writer, log_id, latest = parsed
            # The ring holds the latest too, so listing the ring alone repeats nothing.
            if latest != request.latest_only or (request.log_id and log_id != request.log_id):
                continue
            if len(found) == MAX_LIST:
                raise Invalid([FieldError("", f"more than {MAX_LIST} checkpoints match: narrow the "
                                              "request with spiffeId, logId or latestOnly")])
            checkpoint = audit_pb2.AuditCheckpoint.FromString(kv.value)
            found.append((writer, log_id, checkpoint.seq, checkpoint))
        found.sort(key=lambda entry: entry[:3])
        return audit_pb2.AuditCheckpoints(checkpoints=[entry[3] for entry in found])

    async def _verify(self, checkpoint: audit_pb2.AuditCheckpoint, writer: str) -> None:
        """Forbidden unless the signer is the caller; Invalid unless the signature and the
        signer's chain (to our roots, at the checkpoint's time) verify."""
        try:
            leaf = x509.load_pem_x509_certificates(checkpoint.signer_chain_pem.encode("ascii"))[0]
            signer = spiffe_id_of(leaf)
        except (ValueError, IndexError, UnicodeEncodeError):
            raise Invalid([FieldError("signerChainPem", "no certificate with one URI SAN")]) from None
        if signer != writer:
            raise Forbidden(f"{writer} may submit only its own checkpoints, not one signed by {signer}")
        try:
            # ECDSA verification and path validation: off the event loop.
            await asyncio.to_thread(verify_checkpoint, checkpoint, writer, self._roots)
        except CheckpointRejected as err:
            raise Invalid([FieldError("signature", err.reason)]) from None

    async def _store_checkpoint(self, checkpoint: audit_pb2.AuditCheckpoint,
                                writer: str) -> api.SubmitCheckpointResponse:
        latest_key = keys.checkpoint_key(writer, checkpoint.log_id).encode()
        value = checkpoint.SerializeToString(deterministic=True)
        try:
            for _ in range(_ATTEMPTS):
                current = await self._store.get(latest_key)
                if current is not None and _already_held(checkpoint, current):
                    return api.SubmitCheckpointResponse(witnessed_seq=checkpoint.seq, already_held=True)
                # The latest key's version counts the checkpoints accepted so far: the next slot.
                accepted = current.version if current is not None else 0
                slot = keys.checkpoint_key(writer, checkpoint.log_id, accepted % self._history)
                result = await self._store.txn(
                    [Compare(latest_key, current.mod_revision if current is not None else 0)],
                    [Put(latest_key, value), Put(slot.encode(), value)],
                )
                if result.succeeded:
                    log.debug("audit_checkpoint_witnessed", writer=writer, log_id=checkpoint.log_id,
                              seq=checkpoint.seq)
                    return api.SubmitCheckpointResponse(witnessed_seq=checkpoint.seq)
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        raise Conflict(f"concurrent checkpoints for log {checkpoint.log_id} kept colliding; retry")


def _already_held(checkpoint: audit_pb2.AuditCheckpoint, current: KeyValue) -> bool:
    """True when the witness holds exactly this head; PreconditionFailed when it holds a newer
    one or another hash at the same seq; False when `checkpoint` is newer."""
    held = audit_pb2.AuditCheckpoint.FromString(current.value)
    if checkpoint.seq < held.seq:
        raise PreconditionFailed(
            f"rollback: the witness holds seq {held.seq} of log {checkpoint.log_id}; "
            f"seq {checkpoint.seq} is older and is refused")
    if checkpoint.seq == held.seq:
        if checkpoint.hash != held.hash:
            raise PreconditionFailed(
                f"fork: the witness holds another hash for seq {held.seq} of log {checkpoint.log_id}")
        return True
    return False


def _problems(checkpoint: audit_pb2.AuditCheckpoint, now: datetime) -> list[FieldError]:
    """Every malformed field of a submitted checkpoint."""
    problems = []
    if not _LOG_ID.fullmatch(checkpoint.log_id):
        problems.append(FieldError("logId", "must be a lowercase version-4 UUID"))
    if checkpoint.seq < 1:
        problems.append(FieldError("seq", "must be at least 1"))
    if not _HASH.fullmatch(checkpoint.hash):
        problems.append(FieldError("hash", "must be 64 lowercase hex digits"))
    if not checkpoint.HasField("time"):
        problems.append(FieldError("time", "required"))
    else:
        try:
            ahead = checkpoint.time.ToDatetime(timezone.utc) > now + CLOCK_SKEW
        except (ValueError, OverflowError):
            ahead = True  # outside the range of a timestamp
        if ahead:
            problems.append(FieldError("time", "must be a valid time at most "
                                               f"{CLOCK_SKEW.seconds // 60} minutes ahead of ours"))
    if not checkpoint.signer_chain_pem or len(checkpoint.signer_chain_pem) > MAX_CHAIN_PEM:
        problems.append(FieldError("signerChainPem", f"required, at most {MAX_CHAIN_PEM} bytes"))
    if not checkpoint.signature or len(checkpoint.signature) > MAX_SIGNATURE:
        problems.append(FieldError("signature", f"required, at most {MAX_SIGNATURE} bytes"))
    return problems


def _check_filters(request: api.ListCheckpointsRequest, trust_domain: str) -> None:
    """Invalid unless each filter given is a workload ID of our trust domain / a log id, so
    a filter can never widen into a prefix of other keys."""
    problems = []
    if request.spiffe_id:
        try:
            sid = parse_spiffe_id(request.spiffe_id)
        except InvalidSpiffeId as exc:
            problems.append(FieldError("spiffeId", str(exc)))
        else:
            if sid.trust_domain != trust_domain or sid.system is None or str(sid) != request.spiffe_id:
                problems.append(FieldError("spiffeId", f"must be a workload identity of {trust_domain}"))
    if request.log_id and not _LOG_ID.fullmatch(request.log_id):
        problems.append(FieldError("logId", "must be a lowercase version-4 UUID"))
    if problems:
        raise Invalid(problems)
