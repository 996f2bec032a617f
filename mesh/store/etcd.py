"""EtcdStore: the Store on a real etcd cluster, over our own grpc.aio mTLS channel with
the aetcd.rpc stubs. etcd names the user after the client certificate's CN."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncGenerator, Sequence

import grpc
from aetcd import rpc

from mesh.store.base import (
    DEFAULT_TIMEOUT,
    Changes,
    Compare,
    Delete,
    DeletePrefix,
    Event,
    KeyValue,
    Op,
    Put,
    TxnResult,
    WatchBatch,
)
from mesh.store.errors import Compacted, LeaseNotFound, StoreError, StorePermissionDenied, StoreUnavailable
from mesh.store.etcd_errors import map_etcd_errors
from mesh.store.keyrange import check_ops, prefix_end

# etcd ends a stream carrying this metadata when its member loses the leader, instead of
# leaving the watch silent on a partitioned member (clientv3.WithRequireLeader).
REQUIRE_LEADER = (("hasleader", "true"),)

# round_robin keeps a subchannel to every member and skips those not READY, so one dead
# member costs the calls in flight on it and nothing more; a member that is up but has no
# leader only fails its share of calls, which the caller retries. pick_first would pin
# every call to that member until its TCP connection dies.
_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
# etcd packs many events into one watch response, each up to its --max-request-bytes
# (1.5 MiB by default), so gRPC's default 4 MiB receive limit is too small.
_MAX_RECEIVE_BYTES = 256 * 1024 * 1024
# Probe idle connections so a watch on a member that vanished (no RST) ends within ~15 s.
# etcd's default --grpc-keepalive-min-time is 5 s; below that it would drop us.
_KEEPALIVE_MS = 10_000
_KEEPALIVE_TIMEOUT_MS = 5_000
# gRPC's reconnect backoff grows to 120 s by default, so after a long etcd outage a client
# would stay away for up to two minutes once etcd is back. Cap it near the callers' own
# retry backoff instead.
_MAX_RECONNECT_BACKOFF_MS = 2_000


class EtcdStore:
    """A Store on etcd. `endpoints` are "host:port" (an "https://" prefix is accepted):
    several IP addresses of the members, or one DNS name resolving to all of them.

    With several addresses TLS must check one name for every member: `server_name`, or
    by default the host the endpoints share (127.0.0.1 for a local cluster)."""

    def __init__(
        self,
        endpoints: list[str],
        ca_pem: bytes,
        cert_pem: bytes,
        key_pem: bytes,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        server_name: str | None = None,
    ) -> None:
        self._target, name_override = channel_target(endpoints, server_name)
        self._options: list[tuple[str, str | int]] = [
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES),
            ("grpc.keepalive_time_ms", _KEEPALIVE_MS),
            ("grpc.keepalive_timeout_ms", _KEEPALIVE_TIMEOUT_MS),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", _MAX_RECONNECT_BACKOFF_MS),
            # etcd is reached directly; an https_proxy meant for the outside must not apply.
            ("grpc.enable_http_proxy", 0),
        ]
        if name_override is not None:
            self._options.append(("grpc.ssl_target_name_override", name_override))
        self._credentials = grpc.ssl_channel_credentials(ca_pem, key_pem, cert_pem)
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None

    def admin_channel(self) -> grpc.aio.Channel:
        """The channel, for mesh.store's own admin code (auth bootstrap, cluster status).
        Nothing outside mesh.store talks gRPC to etcd."""
        return self._open

    @property
    def _open(self) -> grpc.aio.Channel:
        # Made on first use so the channel belongs to the event loop that uses it.
        if self._channel is None:
            self._channel = grpc.aio.secure_channel(self._target, self._credentials, options=self._options)
        return self._channel

    async def get(self, key: bytes) -> KeyValue | None:
        with map_etcd_errors():
            response = await rpc.KVStub(self._open).Range(rpc.RangeRequest(key=key), timeout=self._timeout)
        return _to_key_value(response.kvs[0]) if response.kvs else None

    async def range(self, prefix: bytes, revision: int = 0, *,
                    min_mod_revision: int = 0) -> tuple[list[KeyValue], int]:
        response = await self._range(rpc.RangeRequest(key=prefix, range_end=prefix_end(prefix),
                                                      revision=revision, min_mod_revision=min_mod_revision))
        return [_to_key_value(kv) for kv in response.kvs], response.header.revision

    async def changes(self, prefix: bytes, since: int) -> Changes:
        # Both reads in one read-only transaction: one round trip, one revision.
        end = prefix_end(prefix)
        request = rpc.TxnRequest(success=[
            rpc.RequestOp(request_range=rpc.RangeRequest(key=prefix, range_end=end,
                                                         min_mod_revision=since + 1)),
            rpc.RequestOp(request_range=rpc.RangeRequest(key=prefix, range_end=end, count_only=True)),
        ])
        with map_etcd_errors():
            response = await rpc.KVStub(self._open).Txn(request, timeout=self._timeout)
        changed, counted = (r.response_range for r in response.responses)
        return Changes([_to_key_value(kv) for kv in changed.kvs], int(counted.count),
                       response.header.revision)

    async def _range(self, request: rpc.RangeRequest) -> rpc.RangeResponse:
        try:
            with map_etcd_errors():
                return await rpc.KVStub(self._open).Range(request, timeout=self._timeout)
        except Compacted:
            raise Compacted(await self._compact_revision(request.key)) from None

    async def txn(self, compares: Sequence[Compare], success: Sequence[Op]) -> TxnResult:
        check_ops(success)
        request = rpc.TxnRequest(
            compare=[
                rpc.Compare(
                    result=rpc.Compare.CompareResult.EQUAL,
                    target=rpc.Compare.CompareTarget.MOD,
                    key=c.key,
                    mod_revision=c.mod_revision,
                )
                for c in compares
            ],
            success=[_to_request_op(op) for op in success],
        )
        with map_etcd_errors():
            response = await rpc.KVStub(self._open).Txn(request, timeout=self._timeout)
        return TxnResult(succeeded=response.succeeded, revision=response.header.revision)

    async def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        with map_etcd_errors():
            response = await rpc.KVStub(self._open).Put(
                rpc.PutRequest(key=key, value=value, lease=lease), timeout=self._timeout
            )
        return int(response.header.revision)

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncGenerator[WatchBatch, None]:
        create = rpc.WatchCreateRequest(key=prefix, range_end=prefix_end(prefix), start_revision=start_revision)
        channel = self._open
        call = rpc.WatchStub(channel).Watch(metadata=REQUIRE_LEADER)
        try:
            with map_etcd_errors():
                await call.write(rpc.WatchRequest(create_request=create))
            while True:
                try:
                    with map_etcd_errors():
                        response = await call.read()
                except asyncio.CancelledError:
                    # grpc.aio cancels calls when the channel closes; only then is this
                    # ours to end. A cancellation of the consumer's task propagates.
                    if channel is not self._channel and not _task_cancelling():
                        return
                    raise
                if response is grpc.aio.EOF:
                    raise StoreUnavailable("etcd ended the watch stream")
                if response.compact_revision:
                    raise Compacted(response.compact_revision)
                if response.canceled:
                    raise _watch_cancelled(response.cancel_reason)
                if response.events:
                    events = tuple(_to_event(e) for e in response.events)
                    yield WatchBatch(revision=events[-1].kv.mod_revision, events=events)
        finally:
            call.cancel()

    async def grant_lease(self, ttl_seconds: int) -> int:
        with map_etcd_errors():
            response = await rpc.LeaseStub(self._open).LeaseGrant(
                rpc.LeaseGrantRequest(TTL=ttl_seconds), timeout=self._timeout
            )
        return int(response.ID)

    async def keepalive_once(self, lease_id: int) -> int:
        call = rpc.LeaseStub(self._open).LeaseKeepAlive(timeout=self._timeout)
        try:
            with map_etcd_errors():
                await call.write(rpc.LeaseKeepAliveRequest(ID=lease_id))
                response = await call.read()
        finally:
            call.cancel()
        if response is grpc.aio.EOF:
            raise StoreUnavailable("etcd ended the keepalive stream")
        if response.TTL <= 0:
            raise LeaseNotFound(f"lease {lease_id:x} not found")
        return int(response.TTL)

    async def revoke_lease(self, lease_id: int) -> None:
        try:
            with map_etcd_errors():
                await rpc.LeaseStub(self._open).LeaseRevoke(
                    rpc.LeaseRevokeRequest(ID=lease_id), timeout=self._timeout
                )
        except LeaseNotFound:
            return

    async def compact(self, revision: int) -> None:
        try:
            with map_etcd_errors():
                await rpc.KVStub(self._open).Compact(
                    rpc.CompactionRequest(revision=revision), timeout=self._timeout
                )
        except Compacted:
            return

    async def current_revision(self) -> int:
        # An empty transaction is a linearizable read that needs no permission on any key.
        with map_etcd_errors():
            response = await rpc.KVStub(self._open).Txn(rpc.TxnRequest(), timeout=self._timeout)
        return int(response.header.revision)

    async def close(self) -> None:
        """Close the channel; open watches end. A later call opens a new channel."""
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _compact_revision(self, prefix: bytes) -> int:
        """etcd's range error does not say the compact revision; a watch from revision 1
        is refused with it at once."""
        try:
            async with asyncio.timeout(self._timeout):
                async for _ in self.watch(prefix, 1):
                    break
        except Compacted as exc:
            return exc.compact_revision
        except TimeoutError:
            raise StoreUnavailable("etcd did not report its compact revision in time") from None
        raise StoreError("etcd reported a compaction it then did not show")


def channel_target(endpoints: list[str], server_name: str | None) -> tuple[str, str | None]:
    """The gRPC target for `endpoints` and the TLS name to check if not the target's own.

    IP addresses become one "ipv4:"/"ipv6:" target that round_robin spreads over; a single
    DNS name becomes "dns:///name:port", which resolves to every member behind it."""
    if not endpoints:
        raise ValueError("at least one etcd endpoint is required")
    hosts = [_split_host_port(e) for e in endpoints]
    families = {_ip_family(host) for host, _ in hosts}
    if families == {None}:
        if len(hosts) != 1:
            raise ValueError("give IP addresses or one DNS name that resolves to every member")
        host, port = hosts[0]
        return f"dns:///{host}:{port}", server_name
    if None in families or len(families) != 1:
        raise ValueError("endpoints must all be IPv4 or all IPv6 addresses")
    family = families.pop()
    addresses = ",".join(f"[{h}]:{p}" if family == "ipv6" else f"{h}:{p}" for h, p in hosts)
    if server_name is None:
        shared = {host for host, _ in hosts}
        if len(shared) != 1:
            raise ValueError("members on different addresses need server_name: one name every member certificate carries")
        server_name = shared.pop()
    return f"{family}:{addresses}", server_name


def _split_host_port(endpoint: str) -> tuple[str, int]:
    rest = endpoint.removeprefix("https://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"endpoint must be host:port: {endpoint!r}")
    return host.strip("[]"), int(port)


def _ip_family(host: str) -> str | None:
    try:
        return "ipv4" if ipaddress.ip_address(host).version == 4 else "ipv6"
    except ValueError:
        return None


def _to_request_op(op: Op) -> rpc.RequestOp:
    if isinstance(op, Put):
        return rpc.RequestOp(request_put=rpc.PutRequest(key=op.key, value=op.value, lease=op.lease))
    if isinstance(op, Delete):
        return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=op.key))
    if isinstance(op, DeletePrefix):
        return rpc.RequestOp(
            request_delete_range=rpc.DeleteRangeRequest(key=op.prefix, range_end=prefix_end(op.prefix))
        )
    raise TypeError(f"not a store op: {type(op).__name__}")


def _to_key_value(kv: rpc.KeyValue) -> KeyValue:
    return KeyValue(
        key=kv.key,
        value=kv.value,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


# Looked up once: an attribute of a protobuf enum wrapper is a slow lookup, and every watched
# event would pay it.
_DELETE = rpc.Event.EventType.DELETE


def _to_event(event: rpc.Event) -> Event:
    return Event(type="delete" if event.type == _DELETE else "put", kv=_to_key_value(event.kv))


def _task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _watch_cancelled(reason: str) -> StoreError:
    if "permission denied" in reason:
        return StorePermissionDenied(f"etcd refused the watch: {reason}")
    return StoreUnavailable(f"etcd cancelled the watch: {reason}")
