from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Address(_message.Message):
    __slots__ = ("full_address", "postal_code", "prefecture", "city", "town", "block", "building", "local_government_code")
    FULL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    PREFECTURE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    TOWN_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    BUILDING_FIELD_NUMBER: _ClassVar[int]
    LOCAL_GOVERNMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    full_address: str
    postal_code: str
    prefecture: str
    city: str
    town: str
    block: str
    building: str
    local_government_code: str
    def __init__(self, full_address: _Optional[str] = ..., postal_code: _Optional[str] = ..., prefecture: _Optional[str] = ..., city: _Optional[str] = ..., town: _Optional[str] = ..., block: _Optional[str] = ..., building: _Optional[str] = ..., local_government_code: _Optional[str] = ...) -> None: ...
