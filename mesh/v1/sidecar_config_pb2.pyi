import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SidecarConfig(_message.Message):
    __slots__ = ("identity", "outbound", "inbound", "admin", "routes", "max_message_bytes", "drain_timeout", "max_connection_age", "etcd", "control_plane", "state_dir", "join", "health", "audit")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    OUTBOUND_FIELD_NUMBER: _ClassVar[int]
    INBOUND_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DRAIN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTION_AGE_FIELD_NUMBER: _ClassVar[int]
    ETCD_FIELD_NUMBER: _ClassVar[int]
    CONTROL_PLANE_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    identity: WorkloadIdentity
    outbound: Listener
    inbound: InboundListener
    admin: Listener
    routes: _containers.RepeatedCompositeFieldContainer[StaticRoute]
    max_message_bytes: int
    drain_timeout: _duration_pb2.Duration
    max_connection_age: _duration_pb2.Duration
    etcd: EtcdSource
    control_plane: ControlPlaneEndpoint
    state_dir: str
    join: JoinConfig
    health: Listener
    audit: AuditConfig
    def __init__(self, identity: _Optional[_Union[WorkloadIdentity, _Mapping]] = ..., outbound: _Optional[_Union[Listener, _Mapping]] = ..., inbound: _Optional[_Union[InboundListener, _Mapping]] = ..., admin: _Optional[_Union[Listener, _Mapping]] = ..., routes: _Optional[_Iterable[_Union[StaticRoute, _Mapping]]] = ..., max_message_bytes: _Optional[int] = ..., drain_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_connection_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., etcd: _Optional[_Union[EtcdSource, _Mapping]] = ..., control_plane: _Optional[_Union[ControlPlaneEndpoint, _Mapping]] = ..., state_dir: _Optional[str] = ..., join: _Optional[_Union[JoinConfig, _Mapping]] = ..., health: _Optional[_Union[Listener, _Mapping]] = ..., audit: _Optional[_Union[AuditConfig, _Mapping]] = ...) -> None: ...

class AuditConfig(_message.Message):
    __slots__ = ("directory", "checkpoint_every", "checkpoint_interval", "batch_linger", "sync_interval", "fsync_every_batch")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    BATCH_LINGER_FIELD_NUMBER: _ClassVar[int]
    SYNC_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    FSYNC_EVERY_BATCH_FIELD_NUMBER: _ClassVar[int]
    directory: str
    checkpoint_every: int
    checkpoint_interval: _duration_pb2.Duration
    batch_linger: _duration_pb2.Duration
    sync_interval: _duration_pb2.Duration
    fsync_every_batch: bool
    def __init__(self, directory: _Optional[str] = ..., checkpoint_every: _Optional[int] = ..., checkpoint_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., batch_linger: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., sync_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fsync_every_batch: _Optional[bool] = ...) -> None: ...

class JoinConfig(_message.Message):
    __slots__ = ("address", "token_file")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FILE_FIELD_NUMBER: _ClassVar[int]
    address: str
    token_file: str
    def __init__(self, address: _Optional[str] = ..., token_file: _Optional[str] = ...) -> None: ...

class EtcdSource(_message.Message):
    __slots__ = ("endpoints", "cert_file", "key_file", "ca_file")
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    CERT_FILE_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    CA_FILE_FIELD_NUMBER: _ClassVar[int]
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    cert_file: str
    key_file: str
    ca_file: str
    def __init__(self, endpoints: _Optional[_Iterable[str]] = ..., cert_file: _Optional[str] = ..., key_file: _Optional[str] = ..., ca_file: _Optional[str] = ...) -> None: ...

class ControlPlaneEndpoint(_message.Message):
    __slots__ = ("address", "identity")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    address: str
    identity: str
    def __init__(self, address: _Optional[str] = ..., identity: _Optional[str] = ...) -> None: ...

class WorkloadIdentity(_message.Message):
    __slots__ = ("spiffe_id", "cert_file", "key_file", "bundle_file")
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    CERT_FILE_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FILE_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    cert_file: str
    key_file: str
    bundle_file: str
    def __init__(self, spiffe_id: _Optional[str] = ..., cert_file: _Optional[str] = ..., key_file: _Optional[str] = ..., bundle_file: _Optional[str] = ...) -> None: ...

class Listener(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class InboundListener(_message.Message):
    __slots__ = ("address", "upstream")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    address: str
    upstream: str
    def __init__(self, address: _Optional[str] = ..., upstream: _Optional[str] = ...) -> None: ...

class StaticRoute(_message.Message):
    __slots__ = ("service", "endpoint", "identity", "timeout")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    service: str
    endpoint: str
    identity: str
    timeout: _duration_pb2.Duration
    def __init__(self, service: _Optional[str] = ..., endpoint: _Optional[str] = ..., identity: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
