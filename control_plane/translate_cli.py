"""`meshctl translate`: try a Mapping on one message, offline, with no traffic.

    meshctl translate -f MAPPING.yaml --to canonical|local [--message NAME] [--schema SCHEMA.yaml] < in.json

Reads the message as proto3 JSON on stdin and prints the translation as JSON. The Schema comes
from --schema, else from a Schema document in the same file, else the shipped gif-core-v1.
Exit codes: 0 translated, 1 the mapping is invalid or refused the message (each error on
stderr with its field path), 2 a usage error or an input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

from mesh.resources import DocumentError, from_dict
from mesh.translate import gif
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.engine import CompiledMessage, compile_mapping
from mesh.translate.errors import MappingInvalid, TranslationError
from mesh.v1 import mapping_pb2, schema_pb2

OK, REFUSED, USAGE = 0, 1, 2


class _Usage(Exception):
    """An input that cannot be used; exit 2."""


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `translate`; its `func` takes the parsed args and returns the exit code."""
    parser = subparsers.add_parser(
        "translate", help="translate one JSON message with a Mapping, offline (exit 0 ok, 1 refused, 2 usage)")
    parser.add_argument("-f", "--filename", type=Path, required=True, help="YAML file with the Mapping")
    parser.add_argument("--to", choices=("canonical", "local"), required=True, help="direction")
    parser.add_argument("--message", help="message mapping name (needed when the Mapping has several)")
    parser.add_argument("--schema", type=Path, help="YAML file with the Schema (default: the file's "
                        "own Schema document, else the shipped gif-core-v1)")
    parser.set_defaults(func=run_translate)


def run_translate(args: argparse.Namespace) -> int:
    try:
        documents = _documents(args.filename)
        mapping = _only(documents, "Mapping", args.filename)
        schema = _schema(args.schema, documents, mapping)
        compiled = compile_mapping(mapping, None, pool_from_bytes(schema.spec.descriptor_set))
        message = _message(compiled.messages, args.message)
        source = message.local_class if args.to == "canonical" else message.canonical_class
        incoming = _read_json(sys.stdin.read(), source)
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except MappingInvalid as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return REFUSED
    except DescriptorSetError as exc:
        print(f"error: Schema spec.descriptorSet: {exc}", file=sys.stderr)
        return USAGE
    try:
        if args.to == "canonical":
            out, _ = message.to_canonical(incoming)
        else:
            out, _ = message.to_local(incoming)
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return REFUSED
    document = json_format.MessageToDict(out, preserving_proto_field_name=False)
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return OK


def _documents(path: Path) -> list[Message]:
    try:
        loaded = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _Usage(f"{path}: {exc}") from None
    messages = []
    for i, document in enumerate(loaded):
        try:
            messages.append(from_dict(document))
        except DocumentError as exc:
            raise _Usage(f"{path} #{i + 1}: {exc}") from None
    return messages


def _only(documents: list[Message], kind: str, path: Path) -> Any:
    found = [d for d in documents if d.DESCRIPTOR.name == kind]
    if len(found) != 1:
        raise _Usage(f"{path}: expected one {kind} document, found {len(found)}")
    return found[0]


def _schema(path: Path | None, documents: list[Message], mapping: mapping_pb2.Mapping) -> schema_pb2.Schema:
    if path is not None:
        schema: schema_pb2.Schema = _only(_documents(path), "Schema", path)
    elif any(d.DESCRIPTOR.name == "Schema" for d in documents):
        schema = _only(documents, "Schema", Path("-f"))
    else:
        schema = gif.schema()
    if mapping.spec.schema and mapping.spec.schema != schema.metadata.name:
        raise _Usage(f"the Mapping uses Schema {mapping.spec.schema!r}, not "
                     f"{schema.metadata.name!r}; pass it with --schema")
    return schema


def _message(messages: Any, name: str | None) -> CompiledMessage:
    if name is None:
        if len(messages) != 1:
            raise _Usage(f"--message is required: one of {', '.join(messages)}")
        (only,) = messages.values()
        return only  # type: ignore[no-any-return]
    if name not in messages:
        raise _Usage(f"no message mapping {name!r}: one of {', '.join(messages)}")
    return messages[name]  # type: ignore[no-any-return]


def _read_json(text: str, cls: type[Message]) -> Message:
    try:
        return json_format.Parse(text, cls(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise _Usage(f"stdin is not a {cls.DESCRIPTOR.full_name} in JSON: {exc}") from None
