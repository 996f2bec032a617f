"""The mapping engine: a Mapping resource compiled into closures that translate messages both ways.

`compile_mapping` checks that every round trip is defined (or raises MappingInvalid listing
every problem with its field path) and binds each rule to field descriptors, so that per
message the work is reading, converting and setting fields on upb messages. A refusal at run
time is a MappingFailed naming the field path, the mapping, its version and the direction.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message

from mesh.v1 import mapping_pb2

from .descriptors import DescriptorSetError, find_method, pool_from_bytes
from .errors import MappingFailed, MappingInvalid, Problem, TranslationError
from .kept import ExchangeKept
from .rule import Apply, CompiledRule, reverse_order, run_all
from .rules import NestedTarget, compile_rules
from .values import Kind, worst

TO_CANONICAL = "to canonical"
TO_LOCAL = "to local"


@dataclass(frozen=True, slots=True)
class Label:
    """How errors name the mapping: "<org>/<name>", spec.version, metadata.generation."""

    mapping: str
    version: str
    generation: int


@dataclass(frozen=True, slots=True)
class CompiledMessage:
    """One message mapping, ready to translate local ↔ canonical messages (or their bytes).

    Pass the same `kept` dict to every translation of one exchange: what a lossy rule drops
    going one way is restored coming back. Each call returns the dict it used.
    """

    name: str
    path: str  # spec.messages[i]
    kind: Kind
    local_type: Descriptor
    canonical_type: Descriptor
    local_class: type[Message]
    canonical_class: type[Message]
    rules: tuple[CompiledRule, ...]
    produced: frozenset[str]  # canonical paths always written, for required-field checks
    label: Label
    _forward: Apply = field(repr=False)
    _reverse: Apply = field(repr=False)

    def to_canonical(self, local: Message, kept: ExchangeKept | None = None
                     ) -> tuple[Message, ExchangeKept]:
        kept = {} if kept is None else kept
        out = self.canonical_class()
        try:
            self._forward(local, out, kept, "")
        except TranslationError as exc:
            raise self._failed(exc, TO_CANONICAL) from None
        return out, kept

    def to_local(self, canonical: Message, kept: ExchangeKept | None = None
                 ) -> tuple[Message, ExchangeKept]:
        kept = {} if kept is None else kept
        out = self.local_class()
        try:
            self._reverse(canonical, out, kept, "")
        except TranslationError as exc:
            raise self._failed(exc, TO_LOCAL) from None
        return out, kept

    def to_canonical_bytes(self, data: bytes, kept: ExchangeKept | None = None
                           ) -> tuple[bytes, ExchangeKept]:
        """Local wire bytes → canonical wire bytes (the sidecar's call path)."""
        message, kept = self.to_canonical(self._parse(self.local_class, data, TO_CANONICAL), kept)
        return message.SerializeToString(), kept

    def to_local_bytes(self, data: bytes, kept: ExchangeKept | None = None
                       ) -> tuple[bytes, ExchangeKept]:
        """Canonical wire bytes → local wire bytes."""
        message, kept = self.to_local(self._parse(self.canonical_class, data, TO_LOCAL), kept)
        return message.SerializeToString(), kept

    def _parse(self, cls: type[Message], data: bytes, direction: str) -> Message:
        try:
            return cls.FromString(data)
        except DecodeError:
            reason = f"not a valid {cls.DESCRIPTOR.full_name} message"
            raise self._failed(TranslationError(reason, ""), direction) from None

    def _failed(self, exc: TranslationError, direction: str) -> MappingFailed:
        return MappingFailed(exc.reason, exc.value, exc.field, mapping=self.label.mapping,
                             version=self.label.version, generation=self.label.generation,
                             message=self.name, direction=direction)


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    """A local method and the canonical operation it is, with their message mappings."""

    local: str  # "/demo.v1.ResidentRegistry/GetResident"
    canonical: str  # "/tsunagi.gif.v1.PersonRegistry/GetPerson"
    request: CompiledMessage
    response: CompiledMessage
    client_streaming: bool
    server_streaming: bool


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A whole Mapping: its message mappings by name, its operations by either method path."""

    label: Label
    system: str
    schema: str
    messages: MappingOf[str, CompiledMessage]
    by_local: MappingOf[str, CompiledOperation]
    by_canonical: MappingOf[str, CompiledOperation]

    @property
    def kind(self) -> Kind:
        return worst(*(m.kind for m in self.messages.values()))

    def message(self, name: str) -> CompiledMessage:
        try:
            return self.messages[name]
        except KeyError:
            raise LookupError(f"Mapping {self.label.mapping} has no message mapping {name!r}") from None

    def to_canonical_bytes(self, name: str, data: bytes, kept: ExchangeKept | None = None
                           ) -> tuple[bytes, ExchangeKept]:
        return self.message(name).to_canonical_bytes(data, kept)

    def to_local_bytes(self, name: str, data: bytes, kept: ExchangeKept | None = None
                       ) -> tuple[bytes, ExchangeKept]:
        return self.message(name).to_local_bytes(data, kept)


def compile_mapping(
    mapping: mapping_pb2.Mapping,
    local_pool: descriptor_pool.DescriptorPool | None,
    canonical_pool: descriptor_pool.DescriptorPool,
) -> CompiledMapping:
    """The compiled Mapping, or MappingInvalid with every problem (paths from `spec.`).

    `local_pool` None means: build it from spec.localDescriptorSet.
    """
    spec = mapping.spec
    if local_pool is None:
        try:
            local_pool = pool_from_bytes(spec.local_descriptor_set)
        except DescriptorSetError as exc:
            raise MappingInvalid([Problem("spec.localDescriptorSet", str(exc))]) from None
    meta = mapping.metadata
    label = Label(f"{meta.org}/{meta.name}" if meta.org else meta.name, spec.version,
                  meta.generation)
    compiler = _Compiler(spec, local_pool, canonical_pool, label)
    messages = {name: compiler.message(name) for name in compiler.specs}
    operations = _operations(spec, local_pool, canonical_pool, messages, compiler.problems)
    if compiler.problems:
        raise MappingInvalid(compiler.problems)
    done = {name: m for name, m in messages.items() if m is not None}
    return CompiledMapping(
        label, spec.system, spec.schema, MappingProxyType(done),
        MappingProxyType({op.local: op for op in operations}),
        MappingProxyType({op.canonical: op for op in operations}),
    )


@dataclass(slots=True)
class _Context:
    local: Descriptor
    canonical: Descriptor
    compiler: _Compiler

    def nested(self, name: str, where: str) -> NestedTarget | list[Problem]:
        return self.compiler.nested(name, where)


class _Compiler:
    """Compiles message mappings depth first, refusing cycles of nested mappings."""

    def __init__(self, spec: mapping_pb2.MappingSpec, local_pool: descriptor_pool.DescriptorPool,
                 canonical_pool: descriptor_pool.DescriptorPool, label: Label) -> None:
        self.local_pool, self.canonical_pool, self.label = local_pool, canonical_pool, label
        self.problems: list[Problem] = []
        self.specs: dict[str, tuple[int, mapping_pb2.MessageMapping]] = {}
        self.done: dict[str, CompiledMessage | None] = {}
        self.stack: list[str] = []
        if not spec.messages:
            self.problems.append(Problem("spec.messages", "at least one message mapping is required"))
        for i, message in enumerate(spec.messages):
            if not message.name:
                self.problems.append(Problem(f"spec.messages[{i}].name", "required"))
            elif message.name in self.specs:
                first = self.specs[message.name][0]
                self.problems.append(Problem(f"spec.messages[{i}].name",
                                             f"duplicate {message.name!r} (first at messages[{first}])"))
            else:
                self.specs[message.name] = (i, message)

    def message(self, name: str) -> CompiledMessage | None:
        if name in self.done:
            return self.done[name]
        i, spec = self.specs[name]
        path = f"spec.messages[{i}]"
        local = self._type(self.local_pool, spec.local, f"{path}.local", "localDescriptorSet")
        canonical = self._type(self.canonical_pool, spec.canonical, f"{path}.canonical", "Schema")
        if local is None or canonical is None:
            self.done[name] = None
            return None
        self.stack.append(name)
        try:
            rules = compile_rules(spec.rules, f"{path}.rules", _Context(local, canonical, self),
                                  frozenset())
        finally:
            self.stack.pop()
        if rules and isinstance(rules[0], Problem):
            self.problems += rules  # type: ignore[arg-type]
            self.done[name] = None
            return None
        compiled: list[CompiledRule] = rules  # type: ignore[assignment]
        reads = {tuple(f.name for f in p.fields) for r in compiled for p in r.reads}
        missing = _uncovered(local, reads, ())
        if missing:
            self.problems += [Problem(f"{path}.rules", f"local field {m!r} is neither mapped nor "
                                      "dropped, so the round trip would lose it") for m in missing]
            self.done[name] = None
            return None
        result = CompiledMessage(
            name=name, path=path, kind=worst(*(r.kind for r in compiled)), local_type=local,
            canonical_type=canonical, local_class=message_factory.GetMessageClass(local),
            canonical_class=message_factory.GetMessageClass(canonical), rules=tuple(compiled),
            produced=frozenset().union(*(r.produced for r in compiled)), label=self.label,
            _forward=run_all(r.forward for r in compiled),
            _reverse=run_all(reverse_order(compiled)),
        )
        self.done[name] = result
        return result

    def nested(self, name: str, where: str) -> NestedTarget | list[Problem]:
        if name not in self.specs:
            return [Problem(where, f"no message mapping named {name!r}")]
        if name in self.stack:
            cycle = " → ".join([*self.stack[self.stack.index(name):], name])
            return [Problem(where, f"cycle of nested message mappings: {cycle}")]
        inner = self.message(name)
        if inner is None:
            return [Problem(where, f"message mapping {name!r} has errors")]
        return NestedTarget(inner.local_type, inner.canonical_type, inner._forward,
                            inner._reverse, inner.kind)

    def _type(self, pool: descriptor_pool.DescriptorPool, name: str, where: str,
              source: str) -> Descriptor | None:
        if not name:
            self.problems.append(Problem(where, "required"))
            return None
        try:
            return pool.FindMessageTypeByName(name)
        except KeyError:
            self.problems.append(Problem(where, f"{name!r} is not a message in the {source}"))
            return None


def _uncovered(message: Descriptor, reads: set[tuple[str, ...]], prefix: tuple[str, ...]) -> list[str]:
    """Local fields no rule reads: a sub-message counts when read whole or field by field."""
    missing = []
    for f in message.fields:
        here = (*prefix, f.name)
        if here in reads:
            continue
        if f.message_type is not None and not f.is_repeated and any(
                r[:len(here)] == here for r in reads):
            missing += _uncovered(f.message_type, reads, here)
        else:
            missing.append(".".join(here))
    return missing


def _operations(spec: mapping_pb2.MappingSpec, local_pool: descriptor_pool.DescriptorPool,
                canonical_pool: descriptor_pool.DescriptorPool,
                messages: dict[str, CompiledMessage | None],
                problems: list[Problem]) -> list[CompiledOperation]:
    out: list[CompiledOperation] = []
    seen: dict[tuple[str, str], int] = {}
    for i, op in enumerate(spec.operations):
        path = f"spec.operations[{i}]"
        methods: dict[str, Any] = {}
        for side, pool, text in (("local", local_pool, op.local),
                                 ("canonical", canonical_pool, op.canonical)):
            if (side, text) in seen:
                problems.append(Problem(f"{path}.{side}", f"{text!r} is already mapped by "
                                        f"operations[{seen[(side, text)]}]"))
            seen.setdefault((side, text), i)
            try:
                methods[side] = find_method(pool, text)
            except LookupError as exc:
                problems.append(Problem(f"{path}.{side}", str(exc)))
        local, canonical = methods.get("local"), methods.get("canonical")
        if local is not None and canonical is not None and (
                (local.client_streaming, local.server_streaming)
                != (canonical.client_streaming, canonical.server_streaming)):
            problems.append(Problem(path, "the local method and the canonical operation must "
                                          "stream the same way"))
        pair: dict[str, CompiledMessage] = {}
        for side, name, io in (("request", op.request, "input_type"),
                               ("response", op.response, "output_type")):
            where = f"{path}.{side}"
            if not name:
                problems.append(Problem(where, "required"))
                continue
            if name not in messages:
                problems.append(Problem(where, f"no message mapping named {name!r}"))
                continue
            compiled = messages[name]
            if compiled is None:
                continue
            for method, have in ((local, compiled.local_type), (canonical, compiled.canonical_type)):
                if method is None:
                    continue
                want = getattr(method, io)
                if want.full_name != have.full_name:
                    problems.append(Problem(where, f"{name!r} maps {have.full_name}, but "
                                            f"{method.full_name} {side}s are {want.full_name}"))
            pair[side] = compiled
        if local is not None and canonical is not None and len(pair) == 2:
            out.append(CompiledOperation(op.local, op.canonical, pair["request"], pair["response"],
                                         local.client_streaming, local.server_streaming))
    return out
