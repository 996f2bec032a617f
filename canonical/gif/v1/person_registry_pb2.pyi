from canonical.gif.v1 import options_pb2 as _options_pb2
from canonical.gif.v1 import person_pb2 as _person_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetPersonRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class ListHouseholdRequest(_message.Message):
    __slots__ = ("household_id",)
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    household_id: str
    def __init__(self, household_id: _Optional[str] = ...) -> None: ...
