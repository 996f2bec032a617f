"""Translation: value functions (wareki, kana, names, postal and local government codes, code
lists) and the mapping engine that applies Mappings to messages (engine.compile_mapping).

Value functions are pure functions on str values; the engine calls them by name through `registry`.
"""

from .errors import CodeListError, TranslationError
from .kept import Kept
from .registry import FUNCTIONS, ValueFunction, get

__all__ = ["FUNCTIONS", "CodeListError", "Kept", "TranslationError", "ValueFunction", "get"]
