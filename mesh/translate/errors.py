"""Translation errors: a value a value function refuses, or a code list that cannot be built."""

from __future__ import annotations


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
