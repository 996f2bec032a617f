from canonical.gif.v1 import address_pb2 as _address_pb2
from canonical.gif.v1 import contact_point_pb2 as _contact_point_pb2
from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("event_id", "name", "description", "start_date", "start_time", "end_date", "end_time", "location", "organizer", "contact_point")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ORGANIZER_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    name: str
    description: str
    start_date: str
    start_time: str
    end_date: str
    end_time: str
    location: _address_pb2.Address
    organizer: str
    contact_point: _contact_point_pb2.ContactPoint
    def __init__(self, event_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., start_date: _Optional[str] = ..., start_time: _Optional[str] = ..., end_date: _Optional[str] = ..., end_time: _Optional[str] = ..., location: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., organizer: _Optional[str] = ..., contact_point: _Optional[_Union[_contact_point_pb2.ContactPoint, _Mapping]] = ...) -> None: ...
