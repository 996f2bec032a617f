from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetResidentRequest(_message.Message):
    __slots__ = ("resident_code",)
    RESIDENT_CODE_FIELD_NUMBER: _ClassVar[int]
    resident_code: str
    def __init__(self, resident_code: _Optional[str] = ...) -> None: ...

class ListHouseholdRequest(_message.Message):
    __slots__ = ("household_id",)
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    household_id: str
    def __init__(self, household_id: _Optional[str] = ...) -> None: ...

class Resident(_message.Message):
    __slots__ = ("resident_code", "shimei", "shimei_kana", "seinengappi", "seibetsu", "jusho", "yubin_bango", "household_id")
    RESIDENT_CODE_FIELD_NUMBER: _ClassVar[int]
    SHIMEI_FIELD_NUMBER: _ClassVar[int]
    SHIMEI_KANA_FIELD_NUMBER: _ClassVar[int]
    SEINENGAPPI_FIELD_NUMBER: _ClassVar[int]
    SEIBETSU_FIELD_NUMBER: _ClassVar[int]
    JUSHO_FIELD_NUMBER: _ClassVar[int]
    YUBIN_BANGO_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    resident_code: str
    shimei: str
    shimei_kana: str
    seinengappi: str
    seibetsu: str
    jusho: str
    yubin_bango: str
    household_id: str
    def __init__(self, resident_code: _Optional[str] = ..., shimei: _Optional[str] = ..., shimei_kana: _Optional[str] = ..., seinengappi: _Optional[str] = ..., seibetsu: _Optional[str] = ..., jusho: _Optional[str] = ..., yubin_bango: _Optional[str] = ..., household_id: _Optional[str] = ...) -> None: ...
