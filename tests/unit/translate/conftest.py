"""Fixtures for the translation tests: the shapes protos, compiled once per session."""

from __future__ import annotations

import pytest

from .shapes import Shapes, build_descriptor_set


@pytest.fixture(scope="session")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Shapes:
    """The shapes.local and shapes.canon test protos, with Mapping builders over them."""
    out = tmp_path_factory.mktemp("shapes")
    return Shapes(build_descriptor_set("shapes_local.proto", out),
                  build_descriptor_set("shapes_canonical.proto", out))
