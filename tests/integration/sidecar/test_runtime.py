"""Sidecars configured from etcd (in-process, real mTLS and etcd on 127.0.0.1): they deny every
call until a verified config arrives, then route by it; with etcd away, a restarted sidecar
serves its last-known-good config."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import yaml
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from certs.bundle import write_bundle, write_identity
from certs.ca import issue_client, issue_workload
from mesh.commit import Change
from mesh.keys import CONFIG_PREFIX
from sidecar.lkg import LastKnownGood
from sidecar.runtime import Sidecar
from sidecar.settings import Settings, parse_config, to_settings
from tests.integration.sidecar.conftest import EtcdEnv, MeshPki, running
from tests.support.config_writer import ConfigWriter
from tests.support.echo import start_echo
from tests.support.resources import (
    access_policy,
    CONSUMER,
    CONSUMER_ID,
    PROVIDER,
    PROVIDER_ID,
    organization,
    put,
    route,
    service,
    system,
)
from tests.support.wait import async_wait_until, free_port

CONVERGE_S = 10.0


def _settings(directory: Path, name: str, spiffe_id: str, pki: MeshPki, etcd: EtcdEnv,
              endpoints: list[str], listener: dict[str, dict[str, str]]) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = write_identity(directory, name, issue_workload(pki.intermediate, spiffe_id))
    bundle = write_bundle(directory / "bundle.pem", [pki.root.cert])
    etcd_cert, etcd_key = write_identity(directory, "etcd-client",
                                         issue_client(etcd.issuer, etcd.etcd.reader_user))
    (directory / "etcd-ca.pem").write_bytes(etcd.ca_pem)
    doc = {
        "identity": {"spiffeId": spiffe_id, "certFile": str(cert), "keyFile": str(key),
                     "bundleFile": str(bundle)},
        "admin": {"address": f"127.0.0.1:{free_port()}"},
        "drainTimeout": "1s",
        "etcd": {"endpoints": endpoints, "certFile": str(etcd_cert), "keyFile": str(etcd_key),
                 "caFile": str(directory / "etcd-ca.pem")},
        "stateDir": str(directory / "state"),
        **listener,
    }
    return to_settings(parse_config(yaml.safe_dump(doc)))


async def _health(sidecar: Sidecar) -> int:
    async with aio.insecure_channel(sidecar.settings.admin) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=2)
    return reply.status


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Sidecar]:
    sidecar = await Sidecar.start(settings)
    try:
        yield sidecar
    finally:
        await sidecar.drain()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    port = free_port()
    server, _ = await start_echo(port)
    try:
        yield port
    finally:
        await server.stop(None)


@pytest.fixture
def addresses() -> tuple[str, str]:
    """The provider's inbound and the consumer's outbound listener addresses."""
    return f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"


def _mesh(inbound: str) -> list[Change]:
    return [put(r) for r in (organization(), system(CONSUMER), system(PROVIDER),
                             service(endpoints=(inbound,)), route(), access_policy())]


def _provider(tmp_path: Path, pki: MeshPki, etcd: EtcdEnv, inbound: str, echo_port: int) -> Settings:
    return _settings(tmp_path / "provider", "provider", PROVIDER_ID, pki, etcd, etcd.etcd.endpoints,
                     {"inbound": {"address": inbound, "upstream": f"127.0.0.1:{echo_port}"}})


async def test_calls_are_denied_until_a_verified_config_arrives_then_routed(
    tmp_path: Path, etcd_env: EtcdEnv, mesh_pki: MeshPki, writer: ConfigWriter, echo_port: int,
    addresses: tuple[str, str],
) -> None:
    """No config: NOT_SERVING and UNAVAILABLE. After the control plane's commit: SERVING and
    the call reaches the provider's app through both sidecars."""
    inbound, outbound = addresses
    consumer_settings = _settings(tmp_path / "consumer", "consumer", CONSUMER_ID, mesh_pki,
                                  etcd_env, etcd_env.etcd.endpoints, {"outbound": {"address": outbound}})
    async with started(_provider(tmp_path, mesh_pki, etcd_env, inbound, echo_port)) as provider, \
            started(consumer_settings) as consumer, aio.insecure_channel(outbound) as channel:
        configs = [c for c in (provider.config, consumer.config) if c is not None]
        assert len(configs) == 2
        echo = channel.unary_unary("/test.Echo/Unary")
        assert await _health(consumer) == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await echo(b"hi", timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "no valid config is loaded" in (err.value.details() or "")
        async with running(configs[0]), running(configs[1]):
            revision = await writer.apply(_mesh(inbound))
            await async_wait_until(lambda: all(c.status().revision == revision for c in configs),
                                   timeout=CONVERGE_S, what="both sidecars converged")
            assert await _health(consumer) == health_pb2.HealthCheckResponse.SERVING
            assert await echo(b"hi", timeout=5) == b"hi"


async def test_with_etcd_away_the_last_known_good_serves_at_start(
    tmp_path: Path, etcd_env: EtcdEnv, mesh_pki: MeshPki, writer: ConfigWriter, echo_port: int,
    addresses: tuple[str, str],
) -> None:
    """A consumer whose etcd does not answer starts SERVING from its verified
    last-known-good file and routes by it."""
    inbound, outbound = addresses
    await writer.apply(_mesh(inbound))
    kvs, revision = await writer.store.range(CONFIG_PREFIX.encode())
    away = _settings(tmp_path / "consumer", "consumer", CONSUMER_ID, mesh_pki, etcd_env,
                     [f"127.0.0.1:{free_port()}"], {"outbound": {"address": outbound}})
    assert away.state_dir is not None
    away.state_dir.mkdir(mode=0o700)
    LastKnownGood(away.state_dir).save({kv.key.decode(): kv.value for kv in kvs}, revision)
    async with started(_provider(tmp_path, mesh_pki, etcd_env, inbound, echo_port)) as provider, \
            started(away) as consumer, aio.insecure_channel(outbound) as channel:
        theirs, ours = provider.config, consumer.config
        assert theirs is not None and ours is not None
        assert ours.status().source == "lkg"
        assert await _health(consumer) == health_pb2.HealthCheckResponse.SERVING
        async with running(theirs), running(ours):
            await async_wait_until(lambda: theirs.status().source == "etcd",
                                   timeout=CONVERGE_S, what="provider configured")
            await async_wait_until(lambda: ours.status().counters.get("store_errors"),
                                   timeout=CONVERGE_S, what="consumer finds etcd away")
            assert await channel.unary_unary("/test.Echo/Unary")(b"lkg", timeout=5) == b"lkg"
        assert ours.status().source == "lkg"
