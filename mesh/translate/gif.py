"""The canonical schema the mesh ships: the GIF core data model as the Schema `gif-core-v1`.

The platform operator applies `schema_document()`; `meshctl translate` uses the same schema
when it is given none.
"""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from canonical.gif.v1 import (
    address_pb2,
    appointment_pb2,
    contact_point_pb2,
    event_pb2,
    facility_pb2,
    legal_entity_pb2,
    options_pb2,
    payment_pb2,
    person_pb2,
    person_registry_pb2,
)
from mesh.resources import API_VERSION
from mesh.v1 import meta_pb2, schema_pb2

from .descriptors import file_descriptor_set

NAME = "gif-core-v1"
VERSION = "1.0"
PACKAGE = "tsunagi.gif.v1"
_FILES = (address_pb2, appointment_pb2, contact_point_pb2, event_pb2, facility_pb2,
          legal_entity_pb2, options_pb2, payment_pb2, person_pb2, person_registry_pb2)
MESSAGES = tuple(f"{PACKAGE}.{name}" for name in (
    "Person", "Address", "ContactPoint", "LegalEntity", "Facility", "Event", "Appointment",
    "Payment", "GetPersonRequest", "ListHouseholdRequest"))
SERVICES = (f"{PACKAGE}.PersonRegistry",)
REQUIRED = options_pb2.required  # the (tsunagi.gif.v1.required) field option


def is_required(field: FieldDescriptor) -> bool:
    """Whether `field` carries (tsunagi.gif.v1.required) = true (in any pool)."""
    return bool(field.GetOptions().Extensions[REQUIRED])  # type: ignore[index]


def descriptor_set() -> bytes:
    """The shipped canonical files (and their imports) as a serialized FileDescriptorSet."""
    return file_descriptor_set(*(module.DESCRIPTOR for module in _FILES))


def schema() -> schema_pb2.Schema:
    """The Schema resource for the shipped canonical vocabulary."""
    return schema_pb2.Schema(
        api_version=API_VERSION, kind="Schema", metadata=meta_pb2.ObjectMeta(name=NAME),
        spec=schema_pb2.SchemaSpec(version=VERSION, descriptor_set=descriptor_set(),
                                   messages=list(MESSAGES), services=list(SERVICES)))


def schema_document() -> dict[str, Any]:
    """The same resource as a YAML-ready document (descriptorSet in base64)."""
    return {"apiVersion": API_VERSION, "kind": "Schema", "metadata": {"name": NAME},
            "spec": {"version": VERSION,
                     "descriptorSet": base64.b64encode(descriptor_set()).decode(),
                     "messages": list(MESSAGES), "services": list(SERVICES)}}
