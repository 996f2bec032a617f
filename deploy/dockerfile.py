"""Dockerfile instructions, parsed just enough to check a Dockerfile without an engine.

Handles comments, parser directives, line continuations, build stages (FROM ... AS name) and
the flags of an instruction (COPY --from=build). It does not expand ARGs or heredocs.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: its keyword, flags (--name=value), arguments, stage index and line."""

    keyword: str
    flags: dict[str, str]
    args: tuple[str, ...]
    raw: str
    stage: int
    line: int

    @property
    def is_exec_form(self) -> bool:
        """True when the arguments are a JSON array (no shell involved)."""
        try:
            value = json.loads(self.raw)
        except ValueError:
            return False
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    def exec_args(self) -> list[str]:
        """The JSON-array arguments of an exec-form instruction."""
        value = json.loads(self.raw)
        if not isinstance(value, list):
            raise ValueError(f"line {self.line}: {self.keyword} is not in exec form")
        return [str(item) for item in value]


def parse(text: str) -> list[Instruction]:
    """Every instruction in order. Stage numbers start at 0 with the first FROM; instructions
    before it (ARG) have stage -1."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = (pending + stripped).strip()
        pending = ""
        keyword, _, rest = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        flags, raw = _split_flags(rest.strip())
        args = tuple(shlex.split(raw)) if not raw.startswith("[") else tuple()
        instructions.append(Instruction(keyword, flags, args, raw, stage, start))
    if pending:
        raise ValueError("Dockerfile ends inside a line continuation")
    return instructions


def load(path: Path) -> list[Instruction]:
    return parse(path.read_text(encoding="utf-8"))


def stage_names(instructions: list[Instruction]) -> dict[int, str]:
    """Stage index → name (from FROM ... AS name), for named stages."""
    names: dict[int, str] = {}
    for inst in instructions:
        if inst.keyword == "FROM" and len(inst.args) == 3 and inst.args[1].lower() == "as":
            names[inst.stage] = inst.args[2]
    return names


def _split_flags(rest: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags[name] = value
        rest = rest.lstrip()
    return flags, rest
