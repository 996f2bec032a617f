from canonical.gif.v1 import address_pb2 as _address_pb2
from canonical.gif.v1 import contact_point_pb2 as _contact_point_pb2
from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LegalEntity(_message.Message):
    __slots__ = ("corporate_number", "name", "name_kana", "name_english", "address", "contact_point", "date_of_establishment", "representative_family_name", "representative_given_name")
    CORPORATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    NAME_ENGLISH_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_ESTABLISHMENT_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVE_FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVE_GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    corporate_number: str
    name: str
    name_kana: str
    name_english: str
    address: _address_pb2.Address
    contact_point: _contact_point_pb2.ContactPoint
    date_of_establishment: str
    representative_family_name: str
    representative_given_name: str
    def __init__(self, corporate_number: _Optional[str] = ..., name: _Optional[str] = ..., name_kana: _Optional[str] = ..., name_english: _Optional[str] = ..., address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., contact_point: _Optional[_Union[_contact_point_pb2.ContactPoint, _Mapping]] = ..., date_of_establishment: _Optional[str] = ..., representative_family_name: _Optional[str] = ..., representative_given_name: _Optional[str] = ...) -> None: ...
