from google.protobuf import struct_pb2 as _struct_pb2
from mesh.v1 import meta_pb2 as _meta_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mapping(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: MappingSpec
    status: _meta_pb2.Status
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[MappingSpec, _Mapping]] = ..., status: _Optional[_Union[_meta_pb2.Status, _Mapping]] = ...) -> None: ...

class MappingSpec(_message.Message):
    __slots__ = ("system", "schema", "version", "local_descriptor_set", "operations", "messages", "examples")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DESCRIPTOR_SET_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    system: str
    schema: str
    version: str
    local_descriptor_set: bytes
    operations: _containers.RepeatedCompositeFieldContainer[OperationMapping]
    messages: _containers.RepeatedCompositeFieldContainer[MessageMapping]
    examples: _containers.RepeatedCompositeFieldContainer[MappingExample]
    def __init__(self, system: _Optional[str] = ..., schema: _Optional[str] = ..., version: _Optional[str] = ..., local_descriptor_set: _Optional[bytes] = ..., operations: _Optional[_Iterable[_Union[OperationMapping, _Mapping]]] = ..., messages: _Optional[_Iterable[_Union[MessageMapping, _Mapping]]] = ..., examples: _Optional[_Iterable[_Union[MappingExample, _Mapping]]] = ...) -> None: ...

class OperationMapping(_message.Message):
    __slots__ = ("local", "canonical", "request", "response")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    local: str
    canonical: str
    request: str
    response: str
    def __init__(self, local: _Optional[str] = ..., canonical: _Optional[str] = ..., request: _Optional[str] = ..., response: _Optional[str] = ...) -> None: ...

class MessageMapping(_message.Message):
    __slots__ = ("name", "local", "canonical", "rules")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    name: str
    local: str
    canonical: str
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    def __init__(self, name: _Optional[str] = ..., local: _Optional[str] = ..., canonical: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("field", "default", "constant", "drop", "when", "nested")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    CONSTANT_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    NESTED_FIELD_NUMBER: _ClassVar[int]
    field: FieldRule
    default: DefaultRule
    constant: ConstantRule
    drop: DropRule
    when: ConditionalRule
    nested: NestedRule
    def __init__(self, field: _Optional[_Union[FieldRule, _Mapping]] = ..., default: _Optional[_Union[DefaultRule, _Mapping]] = ..., constant: _Optional[_Union[ConstantRule, _Mapping]] = ..., drop: _Optional[_Union[DropRule, _Mapping]] = ..., when: _Optional[_Union[ConditionalRule, _Mapping]] = ..., nested: _Optional[_Union[NestedRule, _Mapping]] = ...) -> None: ...

class FieldRule(_message.Message):
    __slots__ = ("local", "canonical", "functions", "separator")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    SEPARATOR_FIELD_NUMBER: _ClassVar[int]
    local: _containers.RepeatedScalarFieldContainer[str]
    canonical: _containers.RepeatedScalarFieldContainer[str]
    functions: _containers.RepeatedCompositeFieldContainer[FunctionCall]
    separator: str
    def __init__(self, local: _Optional[_Iterable[str]] = ..., canonical: _Optional[_Iterable[str]] = ..., functions: _Optional[_Iterable[_Union[FunctionCall, _Mapping]]] = ..., separator: _Optional[str] = ...) -> None: ...

class FunctionCall(_message.Message):
    __slots__ = ("name", "params")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DefaultRule(_message.Message):
    __slots__ = ("local", "canonical", "value")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    local: str
    canonical: str
    value: str
    def __init__(self, local: _Optional[str] = ..., canonical: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ConstantRule(_message.Message):
    __slots__ = ("canonical", "value")
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    canonical: str
    value: str
    def __init__(self, canonical: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class DropRule(_message.Message):
    __slots__ = ("local",)
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    local: str
    def __init__(self, local: _Optional[str] = ...) -> None: ...

class ConditionalRule(_message.Message):
    __slots__ = ("field", "equals", "present", "then", "otherwise")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    THEN_FIELD_NUMBER: _ClassVar[int]
    OTHERWISE_FIELD_NUMBER: _ClassVar[int]
    field: str
    equals: str
    present: bool
    then: _containers.RepeatedCompositeFieldContainer[Rule]
    otherwise: _containers.RepeatedCompositeFieldContainer[Rule]
    def __init__(self, field: _Optional[str] = ..., equals: _Optional[str] = ..., present: _Optional[bool] = ..., then: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., otherwise: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ...) -> None: ...

class NestedRule(_message.Message):
    __slots__ = ("local", "canonical", "mapping")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    local: str
    canonical: str
    mapping: str
    def __init__(self, local: _Optional[str] = ..., canonical: _Optional[str] = ..., mapping: _Optional[str] = ...) -> None: ...

class MappingExample(_message.Message):
    __slots__ = ("message", "local", "canonical")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    message: str
    local: _struct_pb2.Struct
    canonical: _struct_pb2.Struct
    def __init__(self, message: _Optional[str] = ..., local: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., canonical: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
