from canonical.gif.v1 import address_pb2 as _address_pb2
from canonical.gif.v1 import contact_point_pb2 as _contact_point_pb2
from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Person(_message.Message):
    __slots__ = ("person_id", "family_name", "given_name", "family_name_kana", "given_name_kana", "date_of_birth", "sex", "address", "contact_point", "household_id", "local_government_code")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_GOVERNMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    date_of_birth: str
    sex: str
    address: _address_pb2.Address
    contact_point: _contact_point_pb2.ContactPoint
    household_id: str
    local_government_code: str
    def __init__(self, person_id: _Optional[str] = ..., family_name: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name_kana: _Optional[str] = ..., given_name_kana: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., sex: _Optional[str] = ..., address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., contact_point: _Optional[_Union[_contact_point_pb2.ContactPoint, _Mapping]] = ..., household_id: _Optional[str] = ..., local_government_code: _Optional[str] = ...) -> None: ...
