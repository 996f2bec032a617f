import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from mesh.v1 import sidecar_config_pb2 as _sidecar_config_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ControlPlaneConfig(_message.Message):
    __slots__ = ("trust_domain", "listen", "join_listen", "admin", "identity", "ca", "signer", "etcd", "operators", "workload_ttl", "status_ttl", "health")
    TRUST_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    JOIN_LISTEN_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CA_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    ETCD_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_TTL_FIELD_NUMBER: _ClassVar[int]
    STATUS_TTL_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    trust_domain: str
    listen: str
    join_listen: str
    admin: str
    identity: _sidecar_config_pb2.WorkloadIdentity
    ca: KeyPair
    signer: KeyPair
    etcd: _sidecar_config_pb2.EtcdSource
    operators: _containers.RepeatedCompositeFieldContainer[OperatorBinding]
    workload_ttl: _duration_pb2.Duration
    status_ttl: _duration_pb2.Duration
    health: str
    def __init__(self, trust_domain: _Optional[str] = ..., listen: _Optional[str] = ..., join_listen: _Optional[str] = ..., admin: _Optional[str] = ..., identity: _Optional[_Union[_sidecar_config_pb2.WorkloadIdentity, _Mapping]] = ..., ca: _Optional[_Union[KeyPair, _Mapping]] = ..., signer: _Optional[_Union[KeyPair, _Mapping]] = ..., etcd: _Optional[_Union[_sidecar_config_pb2.EtcdSource, _Mapping]] = ..., operators: _Optional[_Iterable[_Union[OperatorBinding, _Mapping]]] = ..., workload_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., status_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., health: _Optional[str] = ...) -> None: ...

class KeyPair(_message.Message):
    __slots__ = ("cert_file", "key_file")
    CERT_FILE_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    cert_file: str
    key_file: str
    def __init__(self, cert_file: _Optional[str] = ..., key_file: _Optional[str] = ...) -> None: ...

class OperatorBinding(_message.Message):
    __slots__ = ("identity", "role", "org")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    identity: str
    role: str
    org: str
    def __init__(self, identity: _Optional[str] = ..., role: _Optional[str] = ..., org: _Optional[str] = ...) -> None: ...

class MeshctlConfig(_message.Message):
    __slots__ = ("current_context", "contexts")
    CURRENT_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    current_context: str
    contexts: _containers.RepeatedCompositeFieldContainer[MeshctlContext]
    def __init__(self, current_context: _Optional[str] = ..., contexts: _Optional[_Iterable[_Union[MeshctlContext, _Mapping]]] = ...) -> None: ...

class MeshctlContext(_message.Message):
    __slots__ = ("name", "server", "server_identity", "cert_file", "key_file", "bundle_file")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SERVER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CERT_FILE_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FILE_FIELD_NUMBER: _ClassVar[int]
    name: str
    server: str
    server_identity: str
    cert_file: str
    key_file: str
    bundle_file: str
    def __init__(self, name: _Optional[str] = ..., server: _Optional[str] = ..., server_identity: _Optional[str] = ..., cert_file: _Optional[str] = ..., key_file: _Optional[str] = ..., bundle_file: _Optional[str] = ...) -> None: ...
