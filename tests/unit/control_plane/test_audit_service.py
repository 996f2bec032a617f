"""AuditService, the witness: a sidecar submits only its own, validly signed checkpoints, the
witness never goes backwards, and only operators read it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from grpc import aio

from certs.ca import Issued
from control_plane.client import error_lines
from mesh import keys
from mesh.audit.checkpoint import sign_checkpoint
from mesh.store.base import KeyValue, TxnResult
from mesh.store.errors import StoreUnavailable
from mesh.store.memory import MemoryStore
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2 as api
from tests.support.badcerts import MeshPKI, make_pki
from tests.unit.control_plane.witness import (
    OPERATOR,
    OTHER,
    TRUST_DOMAIN,
    WRITER,
    Witness,
    checkpoint,
    new_log_id,
    running_witness,
)


@pytest.fixture(scope="module")
def pki() -> MeshPKI:
    return make_pki(TRUST_DOMAIN)


@pytest.fixture(scope="module")
def writer(pki: MeshPKI) -> Issued:
    return pki.issue(WRITER)


@pytest.fixture(scope="module")
def other(pki: MeshPKI) -> Issued:
    return pki.issue(OTHER)


@pytest.fixture(scope="module")
def operator(pki: MeshPKI) -> Issued:
    return pki.issue(OPERATOR)


@pytest.fixture
async def witness(pki: MeshPKI) -> AsyncIterator[Witness]:
    async with running_witness(pki) as running:
        yield running


async def stored(witness: Witness) -> list[KeyValue]:
    """Every key the witness has written."""
    kvs, _ = await witness.store.range(keys.CHECKPOINT_PREFIX.encode())
    return kvs


async def listed(witness: Witness, operator: Issued, **filters: object) -> list[tuple[str, int]]:
    """(log_id, seq) of what an operator lists, in the order listed."""
    response = await witness.stub(operator).ListCheckpoints(api.ListCheckpointsRequest(**filters))  # type: ignore[arg-type]
    return [(c.log_id, c.seq) for c in response.checkpoints]


async def test_submit_accepts_a_checkpoint_of_the_callers_own_log(
    witness: Witness, writer: Issued, operator: Issued
) -> None:
    """A workload's own, validly signed checkpoint is kept and then listed as it was sent."""
    sent = checkpoint(writer, new_log_id(), 12)
    response = await witness.stub(writer).SubmitCheckpoint(sent)
    assert (response.witnessed_seq, response.already_held) == (12, False)
    got = await witness.stub(operator).ListCheckpoints(api.ListCheckpointsRequest(spiffe_id=WRITER))
    assert list(got.checkpoints) == [sent]


async def test_submit_refuses_a_checkpoint_validly_signed_by_another_workload(
    witness: Witness, writer: Issued, other: Issued
) -> None:
    """The caller must be the writer: another workload's genuine checkpoint is PERMISSION_DENIED
    and nothing is stored."""
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(checkpoint(other, new_log_id(), 3))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "only its own checkpoints" in (refused.value.details() or "")
    assert await stored(witness) == []


def _altered(cp: audit_pb2.AuditCheckpoint) -> None:
    cp.hash = "0" * 64


def _flipped(cp: audit_pb2.AuditCheckpoint) -> None:
    cp.signature = cp.signature[:-1] + bytes([cp.signature[-1] ^ 1])


def _later(cp: audit_pb2.AuditCheckpoint) -> None:
    cp.seq += 1


@pytest.mark.parametrize("tamper", [_altered, _flipped, _later], ids=["hash altered", "signature flipped",
                                                                      "seq raised"])
async def test_submit_refuses_a_forged_signature(
    witness: Witness, writer: Issued, tamper: Callable[[audit_pb2.AuditCheckpoint], None]
) -> None:
    """A checkpoint changed after signing is INVALID_ARGUMENT and nothing is stored."""
    forged = checkpoint(writer, new_log_id(), 5)
    tamper(forged)
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(forged)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_lines(refused.value) == ["signature: signature does not verify (forged or altered)"]
    assert await stored(witness) == []


async def test_submit_refuses_a_signer_from_a_foreign_ca(witness: Witness, writer: Issued) -> None:
    """A checkpoint for the caller's own ID, signed by a certificate another CA issued, is
    INVALID_ARGUMENT: the signer must chain to the mesh's roots."""
    impostor = make_pki(TRUST_DOMAIN).issue(WRITER)
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(checkpoint(impostor, new_log_id(), 5))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "signer not trusted" in (refused.value.details() or "")
    assert await stored(witness) == []


async def test_submit_refuses_rollback_and_keeps_the_newer_witness(
    witness: Witness, writer: Issued, operator: Issued
) -> None:
    """An older seq than the one held is FAILED_PRECONDITION "rollback" and the stored
    witness stays byte for byte as it was."""
    log_id = new_log_id()
    await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, log_id, 10))
    before = await stored(witness)
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, log_id, 9))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (refused.value.details() or "").startswith("rollback:")
    assert await stored(witness) == before
    assert await listed(witness, operator, log_id=log_id) == [(log_id, 10)]


async def test_submit_refuses_another_hash_at_the_held_seq(witness: Witness, writer: Issued) -> None:
    """A second, different head for the seq already witnessed is FAILED_PRECONDITION "fork"
    and changes nothing."""
    log_id = new_log_id()
    await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, log_id, 4))
    before = await stored(witness)
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, log_id, 4, head="e" * 64))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (refused.value.details() or "").startswith("fork:")
    assert await stored(witness) == before


async def test_submitting_the_held_checkpoint_again_changes_nothing(witness: Witness, writer: Issued) -> None:
    """A retried submission succeeds, says it was already held, and writes nothing."""
    sent = checkpoint(writer, new_log_id(), 7)
    await witness.stub(writer).SubmitCheckpoint(sent)
    revision = await witness.store.current_revision()
    response = await witness.stub(writer).SubmitCheckpoint(sent)
    assert (response.witnessed_seq, response.already_held) == (7, True)
    assert await witness.store.current_revision() == revision


async def test_history_keeps_the_last_n_checkpoints_of_a_log(pki: MeshPKI, writer: Issued, operator: Issued) -> None:
    """With a history of 3, five checkpoints leave the newest three (ascending) and the latest."""
    log_id = new_log_id()
    async with running_witness(pki, history=3) as witness:
        for seq in (1, 2, 3, 4, 5):
            await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, log_id, seq))
        assert await listed(witness, operator, log_id=log_id) == [(log_id, 3), (log_id, 4), (log_id, 5)]
        assert await listed(witness, operator, log_id=log_id, latest_only=True) == [(log_id, 5)]
        assert len(await stored(witness)) == 4  # the latest and three history slots


async def test_list_by_an_operator_reads_all_or_filters_by_writer_and_log(
    witness: Witness, writer: Issued, other: Issued, operator: Issued
) -> None:
    """An operator lists every writer's checkpoints, or one writer's, or one log's."""
    mine, also_mine, theirs = new_log_id(), new_log_id(), new_log_id()
    await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, mine, 2))
    await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, also_mine, 8))
    await witness.stub(other).SubmitCheckpoint(checkpoint(other, theirs, 1))
    everything = await listed(witness, operator)
    assert sorted(everything) == sorted([(mine, 2), (also_mine, 8), (theirs, 1)])
    assert everything[0] == (theirs, 1)  # ordered by writer first: .../juki before .../kaigo
    assert sorted(await listed(witness, operator, spiffe_id=WRITER)) == sorted([(mine, 2), (also_mine, 8)])
    assert await listed(witness, operator, log_id=theirs) == [(theirs, 1)]
    assert await listed(witness, operator, spiffe_id=OTHER, log_id=mine) == []


@pytest.mark.parametrize("caller", ["writer", "other"])
async def test_a_workload_cannot_list_the_witness(
    witness: Witness, caller: str, request: pytest.FixtureRequest
) -> None:
    """ListCheckpoints is for operators: a workload, even the writer itself, is PERMISSION_DENIED."""
    identity: Issued = request.getfixturevalue(caller)
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(identity).ListCheckpoints(api.ListCheckpointsRequest(spiffe_id=WRITER))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_operator_cannot_submit_checkpoints(witness: Witness, operator: Issued) -> None:
    """Only workload identities write logs: an operator's submission is PERMISSION_DENIED."""
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(operator).SubmitCheckpoint(checkpoint(operator, new_log_id(), 1))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await stored(witness) == []


async def test_submit_lists_every_malformed_field(witness: Witness, writer: Issued) -> None:
    """Malformed fields are INVALID_ARGUMENT, each named by its path, all at once."""
    bad = audit_pb2.AuditCheckpoint(log_id="../other", seq=0, hash="ABC", signer_chain_pem="",
                                    signature=b"")
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(bad)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [line.split(":", 1)[0] for line in error_lines(refused.value)]
    assert fields == ["logId", "seq", "hash", "time", "signerChainPem", "signature"]


async def test_submit_refuses_a_signer_chain_that_is_not_a_certificate(witness: Witness, writer: Issued) -> None:
    """A signer chain that holds no certificate is INVALID_ARGUMENT on signerChainPem."""
    garbled = checkpoint(writer, new_log_id(), 2)
    garbled.signer_chain_pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(garbled)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [line.split(":", 1)[0] for line in error_lines(refused.value)] == ["signerChainPem"]


async def test_submit_refuses_a_checkpoint_dated_in_the_future(witness: Witness, writer: Issued) -> None:
    """A checkpoint signed for a time well ahead of the control plane's clock is refused."""
    ahead = sign_checkpoint(writer, new_log_id(), 1, "a" * 64, now=datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(writer).SubmitCheckpoint(ahead)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [line.split(":", 1)[0] for line in error_lines(refused.value)] == ["time"]


@pytest.mark.parametrize("filters", [
    {"spiffe_id": f"spiffe://{TRUST_DOMAIN}/org/131008"},
    {"spiffe_id": "spiffe://other.example/org/131008/sys/kaigo"},
    {"log_id": "0123"},
], ids=["writer prefix", "foreign trust domain", "log id prefix"])
async def test_list_refuses_filters_that_are_not_exact_ids(
    witness: Witness, operator: Issued, filters: dict[str, str]
) -> None:
    """A filter must be a whole workload ID or log id, so it cannot widen into a key prefix."""
    with pytest.raises(aio.AioRpcError) as refused:
        await witness.stub(operator).ListCheckpoints(api.ListCheckpointsRequest(**filters))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class _DownStore(MemoryStore):
    async def get(self, key: bytes) -> KeyValue | None:
        raise StoreUnavailable("no leader")


class _ContendedStore(MemoryStore):
    async def txn(self, compares: object, success: object) -> TxnResult:
        return TxnResult(succeeded=False, revision=await self.current_revision())


@pytest.mark.parametrize(("store", "code"), [
    (_DownStore, grpc.StatusCode.UNAVAILABLE),
    (_ContendedStore, grpc.StatusCode.ABORTED),
], ids=["etcd down", "compare keeps failing"])
async def test_submit_maps_store_failures_to_their_status(
    pki: MeshPKI, writer: Issued, store: type[MemoryStore], code: grpc.StatusCode
) -> None:
    """etcd unreachable is UNAVAILABLE; a compare that keeps failing is ABORTED (retry)."""
    async with running_witness(pki, store=store()) as witness:
        with pytest.raises(aio.AioRpcError) as refused:
            await witness.stub(writer).SubmitCheckpoint(checkpoint(writer, new_log_id(), 1))
    assert refused.value.code() == code

