"""Mapping examples: every worked example translated both ways, each failure named by path.

For each example: local → canonical must give exactly `canonical`; canonical → local, with
what that exchange kept, must give exactly `local`; and canonical → local → canonical with
nothing kept must give `canonical` again (the reverse is a true inverse on its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct

from mesh.v1 import mapping_pb2

from .diff import differences
from .engine import CompiledMapping, CompiledMessage
from .errors import Problem, TranslationError


def check_examples(mapping: CompiledMapping,
                   examples: Sequence[mapping_pb2.MappingExample]) -> list[Problem]:
    """Every failing example, and every message mapping that has none."""
    problems: list[Problem] = []
    covered: set[str] = set()
    for i, example in enumerate(examples):
        path = f"spec.examples[{i}]"
        message = mapping.messages.get(example.message)
        if message is None:
            problems.append(Problem(f"{path}.message", f"no message mapping named {example.message!r}"))
            continue
        covered.add(example.message)
        local = _parse(message.local_class, example.local, f"{path}.local", problems)
        canonical = _parse(message.canonical_class, example.canonical, f"{path}.canonical", problems)
        if local is not None and canonical is not None:
            problems += check_example(message, local, canonical, path)
    problems += [Problem("spec.examples", f"message mapping {name!r} has no example")
                 for name in mapping.messages if name not in covered]
    return problems


def check_example(message: CompiledMessage, local: Message, canonical: Message,
                  path: str) -> list[Problem]:
    """The three checks of one example (see the module docstring)."""
    problems: list[Problem] = []
    kept: dict = {}  # type: ignore[type-arg]
    try:
        got, kept = message.to_canonical(local)
    except TranslationError as exc:
        problems.append(Problem(_at(f"{path}.local", exc.field), f"to canonical: {exc.reason}"))
    else:
        problems += [Problem(f"{path}.canonical.{d.path}", f"to canonical: expected {d.expected!r}, "
                             f"got {d.got!r}") for d in differences(canonical, got)]
    try:
        back, _ = message.to_local(canonical, dict(kept))
    except TranslationError as exc:
        problems.append(Problem(_at(f"{path}.canonical", exc.field), f"to local: {exc.reason}"))
        return problems
    problems += [Problem(f"{path}.local.{d.path}", f"back to local (with what the exchange kept): "
                         f"expected {d.expected!r}, got {d.got!r}") for d in differences(local, back)]
    try:
        plain, _ = message.to_local(canonical)
        again, _ = message.to_canonical(plain)
    except TranslationError as exc:
        problems.append(Problem(_at(f"{path}.canonical", exc.field),
                                f"to local and back with nothing kept: {exc.reason}"))
        return problems
    problems += [Problem(f"{path}.canonical.{d.path}", "to local and back with nothing kept: "
                         f"expected {d.expected!r}, got {d.got!r}")
                 for d in differences(canonical, again)]
    return problems


def _parse(cls: type[Message], value: Struct, path: str, problems: list[Problem]) -> Message | None:
    try:
        return json_format.ParseDict(json_format.MessageToDict(value), cls(),
                                     ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        problems.append(Problem(path, f"not a {cls.DESCRIPTOR.full_name} in JSON: {exc}"))
        return None


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if field else prefix
