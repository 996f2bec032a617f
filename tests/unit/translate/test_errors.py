"""TranslationError and CodeListError: message format, field naming, pickling."""

from __future__ import annotations

import pickle

from mesh.translate.errors import CodeListError, TranslationError


def test_message_names_field_reason_and_value() -> None:
    """The message is `<field>: <reason> (value <repr>)`."""
    err = TranslationError("not a wareki date", "令和?", "spec.birthDate")
    assert str(err) == "spec.birthDate: not a wareki date (value '令和?')"
    assert (err.field, err.value, err.reason) == ("spec.birthDate", "令和?", "not a wareki date")


def test_message_without_field_starts_with_reason() -> None:
    """With the field unknown at this level, the message is `<reason> (value <repr>)`."""
    assert str(TranslationError("bad", "x")) == "bad (value 'x')"


def test_at_sets_the_field_and_keeps_the_rest() -> None:
    """at() names the field path and leaves reason and value as they were."""
    err = TranslationError("bad", "x").at("person.name")
    assert (err.field, err.reason, err.value) == ("person.name", "bad", "x")


def test_translation_error_is_a_value_error() -> None:
    """A TranslationError is a ValueError, so generic callers treat it as invalid input."""
    assert isinstance(TranslationError("bad", "x"), ValueError)


def test_errors_survive_pickling() -> None:
    """Both errors round-trip through pickle with their fields (for process pools)."""
    err = pickle.loads(pickle.dumps(TranslationError("bad", "x", "f")))
    assert (err.field, err.value, err.reason) == ("f", "x", "bad")
    cl = pickle.loads(pickle.dumps(CodeListError("sex", ("pairs[1]: duplicate",))))
    assert (cl.name, cl.problems) == ("sex", ("pairs[1]: duplicate",))
