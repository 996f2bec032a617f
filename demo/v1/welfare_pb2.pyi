from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CitizenQuery(_message.Message):
    __slots__ = ("citizen_number",)
    CITIZEN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    citizen_number: str
    def __init__(self, citizen_number: _Optional[str] = ...) -> None: ...

class FamilyQuery(_message.Message):
    __slots__ = ("family_number",)
    FAMILY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    family_number: str
    def __init__(self, family_number: _Optional[str] = ...) -> None: ...

class Citizen(_message.Message):
    __slots__ = ("citizen_number", "name", "birth_date", "sex", "residence", "family_number")
    CITIZEN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    citizen_number: str
    name: PersonalName
    birth_date: str
    sex: int
    residence: Residence
    family_number: str
    def __init__(self, citizen_number: _Optional[str] = ..., name: _Optional[_Union[PersonalName, _Mapping]] = ..., birth_date: _Optional[str] = ..., sex: _Optional[int] = ..., residence: _Optional[_Union[Residence, _Mapping]] = ..., family_number: _Optional[str] = ...) -> None: ...

class PersonalName(_message.Message):
    __slots__ = ("sei", "mei", "sei_yomi", "mei_yomi")
    SEI_FIELD_NUMBER: _ClassVar[int]
    MEI_FIELD_NUMBER: _ClassVar[int]
    SEI_YOMI_FIELD_NUMBER: _ClassVar[int]
    MEI_YOMI_FIELD_NUMBER: _ClassVar[int]
    sei: str
    mei: str
    sei_yomi: str
    mei_yomi: str
    def __init__(self, sei: _Optional[str] = ..., mei: _Optional[str] = ..., sei_yomi: _Optional[str] = ..., mei_yomi: _Optional[str] = ...) -> None: ...

class Residence(_message.Message):
    __slots__ = ("zip", "address")
    ZIP_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    zip: str
    address: str
    def __init__(self, zip: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...
