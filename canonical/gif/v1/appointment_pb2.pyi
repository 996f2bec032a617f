from canonical.gif.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppointmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPOINTMENT_STATUS_UNSPECIFIED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_REQUESTED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_CONFIRMED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_CANCELLED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_COMPLETED: _ClassVar[AppointmentStatus]
APPOINTMENT_STATUS_UNSPECIFIED: AppointmentStatus
APPOINTMENT_STATUS_REQUESTED: AppointmentStatus
APPOINTMENT_STATUS_CONFIRMED: AppointmentStatus
APPOINTMENT_STATUS_CANCELLED: AppointmentStatus
APPOINTMENT_STATUS_COMPLETED: AppointmentStatus

class Appointment(_message.Message):
    __slots__ = ("appointment_id", "person_id", "facility_id", "date", "start_time", "end_time", "purpose", "status")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    FACILITY_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    person_id: str
    facility_id: str
    date: str
    start_time: str
    end_time: str
    purpose: str
    status: AppointmentStatus
    def __init__(self, appointment_id: _Optional[str] = ..., person_id: _Optional[str] = ..., facility_id: _Optional[str] = ..., date: _Optional[str] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ..., purpose: _Optional[str] = ..., status: _Optional[_Union[AppointmentStatus, str]] = ...) -> None: ...
