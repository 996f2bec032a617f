from mesh.v1 import meta_pb2 as _meta_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrganizationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORGANIZATION_TYPE_UNSPECIFIED: _ClassVar[OrganizationType]
    ORGANIZATION_TYPE_MUNICIPALITY: _ClassVar[OrganizationType]
    ORGANIZATION_TYPE_PREFECTURE: _ClassVar[OrganizationType]
    ORGANIZATION_TYPE_NATIONAL_AGENCY: _ClassVar[OrganizationType]
    ORGANIZATION_TYPE_OTHER: _ClassVar[OrganizationType]
ORGANIZATION_TYPE_UNSPECIFIED: OrganizationType
ORGANIZATION_TYPE_MUNICIPALITY: OrganizationType
ORGANIZATION_TYPE_PREFECTURE: OrganizationType
ORGANIZATION_TYPE_NATIONAL_AGENCY: OrganizationType
ORGANIZATION_TYPE_OTHER: OrganizationType

class Organization(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: OrganizationSpec
    status: _meta_pb2.Status
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[OrganizationSpec, _Mapping]] = ..., status: _Optional[_Union[_meta_pb2.Status, _Mapping]] = ...) -> None: ...

class OrganizationSpec(_message.Message):
    __slots__ = ("type", "display_name")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    type: OrganizationType
    display_name: str
    def __init__(self, type: _Optional[_Union[OrganizationType, str]] = ..., display_name: _Optional[str] = ...) -> None: ...
