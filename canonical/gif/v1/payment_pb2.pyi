from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_UNSPECIFIED: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CASH: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CARD: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_MOBILE: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_BANK_TRANSFER: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_LOCAL_CURRENCY: _ClassVar[PaymentMethod]
PAYMENT_METHOD_UNSPECIFIED: PaymentMethod
PAYMENT_METHOD_CASH: PaymentMethod
PAYMENT_METHOD_CARD: PaymentMethod
PAYMENT_METHOD_MOBILE: PaymentMethod
PAYMENT_METHOD_BANK_TRANSFER: PaymentMethod
PAYMENT_METHOD_LOCAL_CURRENCY: PaymentMethod

class Payment(_message.Message):
    __slots__ = ("payment_id", "payer_person_id", "payer_corporate_number", "payee_corporate_number", "amount", "currency", "date", "time", "method", "description")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_CORPORATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PAYEE_CORPORATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    payer_person_id: str
    payer_corporate_number: str
    payee_corporate_number: str
    amount: int
    currency: str
    date: str
    time: str
    method: PaymentMethod
    description: str
    def __init__(self, payment_id: _Optional[str] = ..., payer_person_id: _Optional[str] = ..., payer_corporate_number: _Optional[str] = ..., payee_corporate_number: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., date: _Optional[str] = ..., time: _Optional[str] = ..., method: _Optional[_Union[PaymentMethod, str]] = ..., description: _Optional[str] = ...) -> None: ...
