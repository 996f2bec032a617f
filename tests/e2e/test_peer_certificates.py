"""The certificate table: every unacceptable peer is refused, and no byte reaches the app."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio
from grpc import aio

from certs.bundle import write_bundle
from certs.ca import Issued
from certs.spiffe_id import dns_name_for, workload_id
from tests.support.badcerts import bad_client_identities, make_pki
from tests.support.echo import start_echo
from tests.support.sidecars import CONSUMER_ID, PROVIDER_ID, TRUST_DOMAIN, Pki, make_pair
from tests.support.wait import async_wait_until, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESH = make_pki(TRUST_DOMAIN)
CASES = bad_client_identities(MESH, CONSUMER_ID)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def provider(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("certs")
    pki = Pki(MESH.root, MESH.intermediate, directory, write_bundle(directory / "bundle.pem", [MESH.root.cert]))
    app_port = free_port()
    server, app = await start_echo(app_port)
    pair = make_pair(directory, app_port, pki=pki)
    pair.provider.start(wait=False)
    pair.consumer.start()
    await async_wait_until(pair.provider.serving, what="provider SERVING")
    yield pair, app
    pair.stop()
    await server.stop(None)


async def _call_inbound(inbound: str, identity: Issued | None) -> aio.AioRpcError | bytes:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=MESH.bundle_pem,
        private_key=identity.key_pem() if identity and identity.key else None,
        certificate_chain=identity.chain_pem() if identity else None,
    )
    options = [("grpc.ssl_target_name_override", dns_name_for(PROVIDER_ID))]
    async with aio.secure_channel(inbound, credentials, options=options) as channel:
        try:
            return await channel.unary_unary("/test.Echo/Unary")(b"must-not-arrive", timeout=5)
        except aio.AioRpcError as err:
            return err


async def test_good_mesh_certificate_is_accepted(provider) -> None:
    """The control: a valid mesh identity does get through (so the table can fail)."""
    pair, app = provider
    assert await _call_inbound(pair.inbound, MESH.issue(CONSUMER_ID)) == b"must-not-arrive"
    assert app.seen[-1].method == "Unary"


@pytest.mark.parametrize("case,identity", CASES, ids=[name for name, _ in CASES])
async def test_bad_client_certificate_is_refused(provider, case: str, identity: Issued | None) -> None:
    """Refused at the handshake or with UNAUTHENTICATED; the app receives nothing."""
    pair, app = provider
    before = len(app.seen)
    result = await _call_inbound(pair.inbound, identity)
    assert isinstance(result, aio.AioRpcError), f"{case}: call was accepted"
    assert result.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED), case
    if result.code() == grpc.StatusCode.UNAUTHENTICATED:
        assert f"sidecar {PROVIDER_ID} (inbound)" in result.details()
    assert len(app.seen) == before
    assert pair.provider.alive()


async def test_refusal_reason_is_logged(provider) -> None:
    """An identity refused after the handshake leaves a peer_rejected line with the reason."""
    pair, _ = provider
    await _call_inbound(pair.inbound, dict(CASES)["two URI SANs"])
    await async_wait_until(lambda: "more than one URI SAN" in pair.provider.logs(), what="reason logged")


async def test_consumer_refuses_provider_with_wrong_identity(tmp_path, provider) -> None:
    """A provider with a valid mesh certificate but not the route's identity is refused."""
    _, app = provider
    expected = workload_id(TRUST_DOMAIN, "131016", "someone-else")
    pki = Pki(MESH.root, MESH.intermediate, tmp_path, write_bundle(tmp_path / "bundle.pem", [MESH.root.cert]))
    pair = make_pair(tmp_path, provider[0].app_port, route_identity=expected, pki=pki)
    pair.provider.start(wait=False)
    pair.consumer.start()
    try:
        await async_wait_until(pair.provider.serving, what="provider SERVING")
        before = len(app.seen)
        async with aio.insecure_channel(pair.outbound) as channel:
            with pytest.raises(aio.AioRpcError) as err:
                await channel.unary_unary("/test.Echo/Unary")(b"x", timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert f"sidecar {CONSUMER_ID} (outbound): upstream unreachable" in err.value.details()
        assert len(app.seen) == before
    finally:
        pair.stop()
