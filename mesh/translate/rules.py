"""Compiling a rule list: each Rule to a CompiledRule, and the checks across the rules of a list.

FieldRule lives in field_rule.py; default, constant, drop, conditional and nested are here.
Within one list no two rules may write overlapping canonical fields, nor read overlapping
local fields (going back, both would write them); the two branches of a conditional may.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from mesh.v1 import mapping_pb2

from .errors import Problem, TranslationError
from .field_rule import compile_field_rule
from .kept import ExchangeKept
from .paths import FieldPath, PathError, resolve
from .rule import TO_CANONICAL, TO_LOCAL, Apply, CompiledRule, prefixed, reverse_order, run_all
from .values import ConversionError, converter, from_text, to_text, worst

Message = Any


@dataclass(frozen=True, slots=True)
class NestedTarget:
    """What a nested rule needs of the message mapping it applies."""

    local: Descriptor
    canonical: Descriptor
    forward: Apply
    reverse: Apply
    kind: str


class Context(Protocol):
    """The message mapping being compiled: its two types, and the other message mappings."""

    local: Descriptor
    canonical: Descriptor

    def nested(self, name: str, where: str) -> NestedTarget | list[Problem]: ...


def compile_rules(rules: Sequence[mapping_pb2.Rule], path: str, ctx: Context,
                  restored: frozenset[str]) -> list[CompiledRule] | list[Problem]:
    """Every rule of the list at `path` ("spec.messages[0].rules"), or every problem.

    `restored` holds the local paths that, going back, are written before this list's
    conditionals run: the conditions may only test those (and this list's own unconditional
    rules' fields).
    """
    problems: list[Problem] = []
    compiled: list[CompiledRule | None] = [None] * len(rules)
    for i, rule in enumerate(rules):
        if rule.WhichOneof("operation") != "when":
            compiled[i] = _compile_one(rule, f"{path}[{i}]", ctx, restored, problems)
    restored = restored | {p.text for r in compiled if r is not None and r.restores for p in r.reads}
    for i, rule in enumerate(rules):
        if rule.WhichOneof("operation") == "when":
            compiled[i] = _conditional(rule.when, f"{path}[{i}].when", ctx, restored, problems)
    done = [r for r in compiled if r is not None]
    problems += overlaps(done)
    return problems or done


def overlaps(rules: Sequence[CompiledRule]) -> list[Problem]:
    """Two rules writing the same canonical data, or reading the same local data."""
    problems = []
    for j, later in enumerate(rules):
        for earlier in rules[:j]:
            for side, mine, theirs, why in (
                ("writes", later.writes, earlier.writes, ""),
                ("reads", later.reads, earlier.reads, "; going back both would write it"),
            ):
                clash = next((a for a in mine for b in theirs if a.overlaps(b)), None)
                if clash is not None:
                    problems.append(Problem(later.path, f"{side} {clash.text!r}, as {earlier.path} "
                                                        f"does{why}"))
    return problems


def _compile_one(rule: mapping_pb2.Rule, path: str, ctx: Context, restored: frozenset[str],
                 problems: list[Problem]) -> CompiledRule | None:
    which = rule.WhichOneof("operation")
    if which is None:
        problems.append(Problem(path, "a rule needs one operation (field, default, constant, "
                                      "drop, when or nested)"))
        return None
    where = f"{path}.{which}"
    build: Callable[..., CompiledRule | list[Problem]] = {
        "field": lambda: compile_field_rule(rule.field, where, ctx.local, ctx.canonical),
        "default": lambda: _default(rule.default, where, ctx),
        "constant": lambda: _constant(rule.constant, where, ctx),
        "drop": lambda: _drop(rule.drop, where, ctx),
        "nested": lambda: _nested(rule.nested, where, ctx),
    }[which]
    result = build()
    if isinstance(result, list):
        problems += result
        return None
    return result


def _path(message: Descriptor, text: str, where: str, problems: list[Problem],
          scalar: bool = True) -> FieldPath | None:
    try:
        path = resolve(message, text)
    except PathError as exc:
        problems.append(Problem(where, str(exc)))
        return None
    if scalar and (path.repeated or path.is_message):
        problems.append(Problem(where, f"{path.text!r} must be a singular scalar field"))
        return None
    return path


def _default(rule: mapping_pb2.DefaultRule, path: str, ctx: Context) -> CompiledRule | list[Problem]:
    problems: list[Problem] = []
    source = _path(ctx.local, rule.local, f"{path}.local", problems)
    target = _path(ctx.canonical, rule.canonical, f"{path}.canonical", problems)
    if source is None or target is None:
        return problems
    try:
        there, kind = converter(source.leaf, target.leaf)
        back, _ = converter(target.leaf, source.leaf)
        parse = from_text(target.leaf)[0]
        default = parse(rule.value) if parse else (rule.value or None)
    except ConversionError as exc:
        return [Problem(path, f"type mismatch: {exc}")]
    except TranslationError as exc:
        return [Problem(f"{path}.value", exc.reason)]
    if default is None:
        return [Problem(f"{path}.value", "required")]
    key_c, key_l = TO_CANONICAL + path, TO_LOCAL + path
    read_s, write_s, read_t, write_t = source.read, source.write, target.read, target.write
    s_text, t_text = source.text, target.text

    def forward(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read_s(src)
        if value is None:
            if not kept.get((key_l, loc)):
                write_t(dst, default)
                kept[(key_c, loc)] = True
            return
        write_t(dst, _convert(there, value, s_text))

    def reverse(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read_t(src)
        if value is None:
            kept[(key_l, loc)] = True
        elif not (value == default and kept.get((key_c, loc))):
            write_s(dst, _convert(back, value, t_text))

    return CompiledRule(path, worst("lossy", kind), forward, reverse, (source,), (target,),
                        frozenset({target.text}))


def _convert(convert: Callable[[Any], Any] | None, value: Any, where: str) -> Any:
    if convert is None:
        return value
    try:
        return convert(value)
    except TranslationError as exc:
        raise exc.at(where) from None


def _constant(rule: mapping_pb2.ConstantRule, path: str, ctx: Context) -> CompiledRule | list[Problem]:
    problems: list[Problem] = []
    target = _path(ctx.canonical, rule.canonical, f"{path}.canonical", problems)
    if target is None:
        return problems
    try:
        parse = from_text(target.leaf)[0]
        text = to_text(target.leaf)[0]
        constant = parse(rule.value) if parse else (rule.value or None)
    except ConversionError as exc:
        return [Problem(path, f"type mismatch: {exc}")]
    except TranslationError as exc:
        return [Problem(f"{path}.value", exc.reason)]
    if constant is None:
        return [Problem(f"{path}.value", "required")]
    read, write, where, shown = target.read, target.write, target.text, rule.value

    def forward(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        write(dst, constant)

    def reverse(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read(src)
        if value is not None and value != constant:
            raise TranslationError(f"must be {shown!r}, the constant this mapping writes",
                                   str(_convert(text, value, where)), where)

    return CompiledRule(path, "partial", forward, reverse, (), (target,), frozenset({target.text}))


def _drop(rule: mapping_pb2.DropRule, path: str, ctx: Context) -> CompiledRule | list[Problem]:
    problems: list[Problem] = []
    source = _path(ctx.local, rule.local, f"{path}.local", problems, scalar=False)
    if source is None:
        return problems
    snapshot, restore = _keeper(source)
    read, key = source.read, TO_CANONICAL + path

    def forward(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = read(src)
        if value is not None:
            kept[(key, loc)] = snapshot(value)

    def reverse(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        value = kept.get((key, loc))
        if value is not None:
            restore(dst, value)

    return CompiledRule(path, "lossy", forward, reverse, (source,), (), frozenset(), restores=False)


def _keeper(source: FieldPath) -> tuple[Callable[[Any], Any], Callable[[Message, Any], None]]:
    """How a dropped field is copied into the exchange, and written back."""
    leaf, parent, name = source.leaf, source.parent, source.leaf.name
    if source.is_map:
        assert leaf.message_type is not None
        value_field = leaf.message_type.fields_by_name["value"]
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            def restore_message_map(dst: Message, items: dict[Any, bytes]) -> None:
                box = getattr(parent(dst), name)
                for key, data in items.items():
                    box[key].MergeFromString(data)

            return (lambda m: {k: v.SerializeToString() for k, v in m.items()}), restore_message_map
        return dict, lambda dst, items: getattr(parent(dst), name).update(items)
    if source.is_message and source.repeated:
        def restore_messages(dst: Message, items: list[bytes]) -> None:
            box = getattr(parent(dst), name)
            for data in items:
                box.add().MergeFromString(data)

        return (lambda m: [e.SerializeToString() for e in m]), restore_messages
    if source.is_message:
        def restore_message(dst: Message, data: bytes) -> None:
            box = getattr(parent(dst), name)
            box.SetInParent()
            box.MergeFromString(data)

        return (lambda m: m.SerializeToString()), restore_message
    if source.repeated:
        return list, source.write
    return (lambda v: v), source.write


def _nested(rule: mapping_pb2.NestedRule, path: str, ctx: Context) -> CompiledRule | list[Problem]:
    problems: list[Problem] = []
    source = _path(ctx.local, rule.local, f"{path}.local", problems, scalar=False)
    target = _path(ctx.canonical, rule.canonical, f"{path}.canonical", problems, scalar=False)
    inner = ctx.nested(rule.mapping, f"{path}.mapping") if rule.mapping else [
        Problem(f"{path}.mapping", "required")]
    if isinstance(inner, list):
        problems += inner
    if source is None or target is None or isinstance(inner, list):
        return problems
    for side, p, want in (("local", source, inner.local), ("canonical", target, inner.canonical)):
        have = p.leaf.message_type
        if have is None or p.is_map:
            problems.append(Problem(f"{path}.{side}", f"{p.text!r} must be a message field"))
        elif have.full_name != want.full_name:
            problems.append(Problem(f"{path}.mapping", f"{rule.mapping!r} maps {want.full_name}, "
                                    f"but {p.text!r} is a {have.full_name}"))
    if source.repeated != target.repeated:
        problems.append(Problem(path, "both fields must be repeated, or neither"))
    if problems:
        return problems
    if source.repeated:
        forward = _each_message(source, target, inner.forward, source.text)
        reverse = _each_message(target, source, inner.reverse, source.text)
    else:
        forward = _one_message(source, target, inner.forward, source.text)
        reverse = _one_message(target, source, inner.reverse, source.text)
    return CompiledRule(path, inner.kind, forward, reverse, (source,), (target,),  # type: ignore[arg-type]
                        frozenset({target.text}))


def _one_message(source: FieldPath, target: FieldPath, inner: Apply, key: str) -> Apply:
    read, parent, name, where = source.read, target.parent, target.leaf.name, source.text
    loc_suffix = key + "."

    def one(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        item = read(src)
        if item is None:
            return
        out = getattr(parent(dst), name)
        out.SetInParent()
        try:
            inner(item, out, kept, loc + loc_suffix)
        except TranslationError as exc:
            raise prefixed(exc, where) from None

    return one


def _each_message(source: FieldPath, target: FieldPath, inner: Apply, key: str) -> Apply:
    read, parent, name, where = source.read, target.parent, target.leaf.name, source.text

    def each(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        items = read(src)
        if items is None:
            return
        out = getattr(parent(dst), name)
        for i, item in enumerate(items):
            try:
                inner(item, out.add(), kept, f"{loc}{key}[{i}].")
            except TranslationError as exc:
                raise prefixed(exc, f"{where}[{i}]") from None

    return each


def _conditional(rule: mapping_pb2.ConditionalRule, path: str, ctx: Context,
                 restored: frozenset[str], problems: list[Problem]) -> CompiledRule | None:
    field = _path(ctx.local, rule.field, f"{path}.field", problems)
    test = rule.WhichOneof("test")
    if test is None:
        problems.append(Problem(path, "needs a test: equals or present"))
    then = compile_rules(rule.then, f"{path}.then", ctx, restored)
    otherwise = compile_rules(rule.otherwise, f"{path}.otherwise", ctx, restored)
    for branch in (then, otherwise):
        if branch and isinstance(branch[0], Problem):
            problems += branch  # type: ignore[arg-type]
    if field is not None and field.text not in restored:
        problems.append(Problem(f"{path}.field", f"{field.text!r} must be read by a rule outside "
                                "the condition, so that going back it is restored before the "
                                "condition is tested"))
    if field is None or test is None or len(problems) and any(
            p.path.startswith(path) for p in problems):
        return None
    then_rules: list[CompiledRule] = then  # type: ignore[assignment]
    other_rules: list[CompiledRule] = otherwise  # type: ignore[assignment]
    if test == "equals":
        if not rule.equals:
            problems.append(Problem(f"{path}.equals", "must not be empty (test present: false)"))
            return None
        try:
            text = to_text(field.leaf)[0]
        except ConversionError as exc:
            problems.append(Problem(f"{path}.field", f"type mismatch: {exc}"))
            return None
        holds, wording = _equals(field, text, rule.equals), f"{field.text} is {rule.equals!r}"
    else:
        want, read = rule.present, field.read
        holds = lambda m: (read(m) is not None) == want  # noqa: E731
        wording = f"{field.text} is {'present' if want else 'absent'}"
    forward = _branch(holds, run_all(r.forward for r in then_rules),
                      run_all(r.forward for r in other_rules),
                      _only(then_rules, other_rules, "reads"), _only(other_rules, then_rules, "reads"),
                      wording, on_source=True)
    reverse = _branch(holds, run_all(reverse_order(then_rules)), run_all(reverse_order(other_rules)),
                      _only(then_rules, other_rules, "writes"),
                      _only(other_rules, then_rules, "writes"), wording, on_source=False)
    both = then_rules + other_rules
    return CompiledRule(
        path, worst("partial", *(r.kind for r in both)), forward, reverse,  # type: ignore[misc]
        tuple(p for r in both for p in r.reads), tuple(p for r in both for p in r.writes),
        frozenset().union(*(r.produced for r in then_rules)) &
        frozenset().union(*(r.produced for r in other_rules)),
        conditional=True,
    )


def _equals(field: FieldPath, text: Callable[[Any], str] | None, expected: str) -> Callable[[Message], bool]:
    read, where = field.read, field.text

    def holds(m: Message) -> bool:
        value = read(m)
        if value is None:
            return False
        return _convert(text, value, where) == expected

    return holds


def _only(mine: list[CompiledRule], theirs: list[CompiledRule], side: str) -> tuple[FieldPath, ...]:
    """Fields of `side` that only `mine` touches: they must be absent when `theirs` runs."""
    other = {p.text for r in theirs for p in getattr(r, side)}
    seen: dict[str, FieldPath] = {}
    for r in mine:
        for p in getattr(r, side):
            if p.text not in other:
                seen.setdefault(p.text, p)
    return tuple(seen.values())


def _branch(holds: Callable[[Message], bool], then: Apply, otherwise: Apply,
            then_only: tuple[FieldPath, ...], other_only: tuple[FieldPath, ...], wording: str,
            on_source: bool) -> Apply:
    """Runs one branch; the source fields only the other branch reads must be absent."""

    def check(src: Message, fields: tuple[FieldPath, ...], state: str) -> None:
        for p in fields:
            value = p.read(src)
            if value is not None:
                raise TranslationError(f"has a value, but only the rules for when ({wording}) is "
                                       f"{state} read it", str(value), p.text)

    def branch(src: Message, dst: Message, kept: ExchangeKept, loc: str) -> None:
        if holds(src if on_source else dst):
            check(src, other_only, "false")
            then(src, dst, kept, loc)
        else:
            check(src, then_only, "true")
            otherwise(src, dst, kept, loc)

    return branch
