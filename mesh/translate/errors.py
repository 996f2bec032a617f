"""Translation errors: a refused value (alone or within a Mapping), a code list that cannot be
built, and a Mapping that cannot be compiled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class TranslationError(ValueError):
    """A value function refused a value. Maps to INVALID_ARGUMENT at the gRPC boundary.

    `field` is the field path; value functions leave it "" and the mapping engine sets it
    with `at()`. `value` is kept for the caller's benefit and must never be logged.
    """

    field: str
    value: str
    reason: str

    def __init__(self, reason: str, value: str, field: str = "") -> None:
        self.field = field
        self.value = value
        self.reason = reason
        prefix = f"{field}: " if field else ""
        super().__init__(f"{prefix}{reason} (value {value!r})")

    def at(self, field: str) -> TranslationError:
        """The same refusal, naming the field path where it happened."""
        return TranslationError(self.reason, self.value, field)

    def __reduce__(self) -> tuple[type[TranslationError], tuple[str, str, str]]:
        return (TranslationError, (self.reason, self.value, self.field))


class CodeListError(ValueError):
    """A code list that is not a bijection, or cannot be loaded. Lists every problem found."""

    name: str
    problems: tuple[str, ...]

    def __init__(self, name: str, problems: tuple[str, ...]) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"code list {name!r}: " + "; ".join(problems))

    def __reduce__(self) -> tuple[type[CodeListError], tuple[str, tuple[str, ...]]]:
        return (CodeListError, (self.name, self.problems))


class MappingFailed(TranslationError):
    """A translation through a Mapping failed: the refusal, plus which mapping and direction.

    `mapping` is "<org>/<name>", `version` the Mapping's spec.version and `generation` its
    metadata.generation; `message` is the message mapping's name and `direction` either
    "to canonical" or "to local". Maps to INVALID_ARGUMENT; `value` must never be logged.
    """

    mapping: str
    version: str
    generation: int
    message: str
    direction: str

    def __init__(
        self,
        reason: str,
        value: str,
        field: str,
        *,
        mapping: str,
        version: str,
        generation: int,
        message: str,
        direction: str,
    ) -> None:
        super().__init__(reason, value, field)
        self.mapping, self.version, self.generation = mapping, version, generation
        self.message, self.direction = message, direction
        where = f"{field}: " if field else ""
        self.args = (
            f"Mapping {mapping} {version} (generation {generation}), {message} {direction}: "
            f"{where}{reason} (value {value!r})",
        )

    def at(self, field: str) -> MappingFailed:
        return MappingFailed(
            self.reason, self.value, field, mapping=self.mapping, version=self.version,
            generation=self.generation, message=self.message, direction=self.direction,
        )

    def __reduce__(self) -> tuple[Any, ...]:  # type: ignore[override]
        return (_rebuild_mapping_failed, (self.reason, self.value, self.field, self.mapping,
                                          self.version, self.generation, self.message,
                                          self.direction))


def _rebuild_mapping_failed(
    reason: str, value: str, field: str, mapping: str, version: str, generation: int,
    message: str, direction: str,
) -> MappingFailed:
    return MappingFailed(reason, value, field, mapping=mapping, version=version,
                         generation=generation, message=message, direction=direction)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a Mapping cannot be compiled: where in the resource (`spec.messages[0]…`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MappingInvalid(ValueError):
    """A Mapping whose round trip is undefined or that does not fit its schemas; every problem."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (MappingInvalid, (self.problems,))
