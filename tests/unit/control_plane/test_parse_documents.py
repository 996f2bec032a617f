"""parse_documents: the Apply request's YAML texts, parsed safely and strictly, with every
problem reported against its document."""

from __future__ import annotations

import pytest

from control_plane.config_service import parse_documents
from control_plane.errors import Invalid
from mesh.v1 import control_plane_pb2 as api

ORG = """apiVersion: mesh.tsunagi.dev/v1
kind: Organization
metadata: {name: "131016"}
spec: {displayName: Minato}
"""


def _problems(*texts: str) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as caught:
        parse_documents([api.Document(source=f"f{i}.yaml", text=t) for i, t in enumerate(texts)])
    return [(e.path, e.message) for e in caught.value.errors]


def test_several_documents_in_one_text_are_named_by_position() -> None:
    objects = parse_documents([api.Document(source="orgs.yaml", text=ORG + "---\n" + ORG.replace("131016", "141003"))])
    assert [source for source, _ in objects] == ["orgs.yaml#1", "orgs.yaml#2"]
    assert [m.metadata.name for _, m in objects] == ["131016", "141003"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['true']\n",
    "a: !!python/name:os.system\n",
    "x: !custom 1\n",
])
def test_tags_that_build_objects_are_refused(text: str) -> None:
    """Only plain data: a tag asking for a Python object (or any unknown tag) is refused."""
    [(path, message)] = _problems(text)
    assert path == "f0.yaml" and message.startswith("not valid YAML")


def test_every_broken_document_is_reported_at_once() -> None:
    problems = _problems("a: [1, 2\n", ORG, "kind: Nothing\n")
    assert [path for path, _ in problems][0] == "f0.yaml"
    assert problems[0][1].startswith("not valid YAML")
    assert any(path.startswith("f2.yaml") for path, _ in problems[1:])


def test_an_empty_request_is_refused() -> None:
    assert _problems() == [("documents", "nothing to apply")]
