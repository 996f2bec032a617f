from canonical.gif.v1 import address_pb2 as _address_pb2
from canonical.gif.v1 import contact_point_pb2 as _contact_point_pb2
from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Facility(_message.Message):
    __slots__ = ("facility_id", "name", "name_kana", "category", "address", "contact_point", "opening_time", "closing_time", "operator_corporate_number")
    FACILITY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    OPENING_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSING_TIME_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_CORPORATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    facility_id: str
    name: str
    name_kana: str
    category: str
    address: _address_pb2.Address
    contact_point: _contact_point_pb2.ContactPoint
    opening_time: str
    closing_time: str
    operator_corporate_number: str
    def __init__(self, facility_id: _Optional[str] = ..., name: _Optional[str] = ..., name_kana: _Optional[str] = ..., category: _Optional[str] = ..., address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., contact_point: _Optional[_Union[_contact_point_pb2.ContactPoint, _Mapping]] = ..., opening_time: _Optional[str] = ..., closing_time: _Optional[str] = ..., operator_corporate_number: _Optional[str] = ...) -> None: ...
