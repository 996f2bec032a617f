from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ContactPoint(_message.Message):
    __slots__ = ("telephone", "extension", "fax", "email", "url")
    TELEPHONE_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    FAX_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    telephone: str
    extension: str
    fax: str
    email: str
    url: str
    def __init__(self, telephone: _Optional[str] = ..., extension: _Optional[str] = ..., fax: _Optional[str] = ..., email: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...
