"""The translation layer of the data path: an exchange's messages through its Mapping.

The consumer translates requests local→canonical and responses canonical→local; the
provider does the reverse. What a lossy rule drops on the way in is kept for the way back of
the same exchange (one `kept` dict per exchange, never logged). A message that cannot be
translated is refused with INVALID_ARGUMENT naming the field and the mapping; nothing is sent.
"""

from __future__ import annotations

from typing import Any, Callable

from mesh.translate.errors import MappingFailed, TranslationError
from sidecar.errors import Untranslatable
from sidecar.exchange import Exchange, Transform


def describe(exc: TranslationError) -> str:
    """Which mapping, which field and why; never the value (it is payload)."""
    where = ""
    if isinstance(exc, MappingFailed):
        where = f"Mapping {exc.mapping} {exc.version} (generation {exc.generation}), {exc.message} {exc.direction}: "
    return f"{where}{exc.field or '(message)'}: {exc.reason}"


def _guarded(step: Callable[[bytes, dict[Any, Any]], tuple[bytes, dict[Any, Any]]], kept: dict[Any, Any]) -> Transform:
    def translate(data: bytes) -> bytes:
        try:
            out, _ = step(data, kept)
        except TranslationError as exc:
            raise Untranslatable(describe(exc)) from None
        return out
    return translate


def attach(exchange: Exchange, operation: Any, provider: bool) -> None:
    """Set the exchange's transforms for `operation` (a CompiledOperation) on one side."""
    kept: dict[Any, Any] = {}
    request, response = operation.request, operation.response
    if provider:
        exchange.request_transform = _guarded(request.to_local_bytes, kept)
        exchange.response_transform = _guarded(response.to_canonical_bytes, kept)
    else:
        exchange.request_transform = _guarded(request.to_canonical_bytes, kept)
        exchange.response_transform = _guarded(response.to_local_bytes, kept)
    label = request.label
    exchange.mappings = (f"{label.mapping}@{label.version}",)


def then(first: Transform | None, second: Transform) -> Transform:
    """`second` after `first` (e.g. minimise the canonical response after translating it)."""
    if first is None:
        return second
    return lambda data: second(first(data))
