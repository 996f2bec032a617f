"""The Python kustomize renderer: each supported feature behaves as kustomize does, anything
else is refused, and on the real kustomizations it produces what `kubectl kustomize` does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import kustomize
from tests.unit.deploy.conftest import KUSTOMIZATIONS

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "app"},
    "spec": {
        "selector": {"matchLabels": {"app": "a"}},
        "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {
                "initContainers": [{"name": "side", "image": "tsunagi"}],
                "containers": [{"name": "main", "image": "quay.io/x/app:1.0",
                                "envFrom": [{"configMapRef": {"name": "cfg"}}]}],
                "volumes": [{"name": "c", "configMap": {"name": "cfg"}},
                            {"name": "other", "configMap": {"name": "not-generated"}}],
            },
        },
    },
}


def write(directory: Path, kustomization: dict[str, Any], files: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for name, content in files.items():
        text = content if isinstance(content, str) else yaml.safe_dump_all(content)
        (directory / name).write_text(text)
    return directory


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


@pytest.mark.parametrize(
    ("data", "suffix"),
    [
        # Both from kubectl kustomize (kustomize v5.5.0) on the same input.
        ({"k": "v"}, "bdg947hgcc"),
        ({"c.yaml": "a: 1\n"}, "df87h6m7m7"),
    ],
)
def test_config_map_hash_is_kustomizes(data: dict[str, str], suffix: str) -> None:
    """The generated name suffix equals kustomize's for the same data."""
    assert kustomize.config_map_hash(data) == suffix


def test_namespace_is_set_on_namespaced_objects_only(tmp_path: Path) -> None:
    """`namespace` moves namespaced objects and leaves cluster-scoped ones alone."""
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    write(tmp_path, {"namespace": "n", "resources": ["a.yaml"]}, {"a.yaml": [ns, role, DEPLOYMENT]})
    objects = kustomize.render(tmp_path)
    assert "namespace" not in by_kind(objects, "Namespace")["metadata"]
    assert "namespace" not in by_kind(objects, "ClusterRole")["metadata"]
    assert by_kind(objects, "Deployment")["metadata"]["namespace"] == "n"


def test_labels_go_to_metadata_only(tmp_path: Path) -> None:
    """`labels` pairs land in metadata.labels, never in selectors or pod templates."""
    write(tmp_path, {"labels": [{"pairs": {"team": "x"}}], "resources": ["a.yaml"]}, {"a.yaml": [DEPLOYMENT]})
    deployment = by_kind(kustomize.render(tmp_path), "Deployment")
    assert deployment["metadata"]["labels"] == {"team": "x"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "a"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "a"}


def test_generated_config_map_is_renamed_everywhere_it_is_referenced(tmp_path: Path) -> None:
    """The hashed name replaces the generator's name in volumes and envFrom, and only there."""
    write(tmp_path, {"resources": ["a.yaml"], "configMapGenerator": [{"name": "cfg", "files": ["sub/c.yaml"]}]},
          {"a.yaml": [DEPLOYMENT]})
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("a: 1\n")
    objects = kustomize.render(tmp_path)
    config_map = by_kind(objects, "ConfigMap")
    assert config_map["metadata"]["name"] == "cfg-df87h6m7m7"
    assert config_map["data"] == {"c.yaml": "a: 1\n"}
    pod = by_kind(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == "cfg-df87h6m7m7"
    assert pod["volumes"][1]["configMap"]["name"] == "not-generated"
    assert pod["containers"][0]["envFrom"][0]["configMapRef"]["name"] == "cfg-df87h6m7m7"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"name": "tsunagi", "newName": "r.example/t", "newTag": "1.2"}, ("r.example/t:1.2", "quay.io/x/app:1.0")),
        ({"name": "quay.io/x/app", "newTag": "2.0"}, ("tsunagi", "quay.io/x/app:2.0")),
        ({"name": "quay.io/x/app", "digest": "sha256:" + "a" * 64}, ("tsunagi", "quay.io/x/app@sha256:" + "a" * 64)),
        ({"name": "quay.io/x", "newTag": "9"}, ("tsunagi", "quay.io/x/app:1.0")),
    ],
)
def test_images_are_replaced_by_exact_name(tmp_path: Path, image: dict[str, str], expected: tuple[str, str]) -> None:
    """`images` rewrites init and app containers whose image name matches exactly."""
    write(tmp_path, {"resources": ["a.yaml"], "images": [image]}, {"a.yaml": [DEPLOYMENT]})
    pod = by_kind(kustomize.render(tmp_path), "Deployment")["spec"]["template"]["spec"]
    assert (pod["initContainers"][0]["image"], pod["containers"][0]["image"]) == expected


def test_nested_kustomization_is_rendered_with_its_own_transformers(tmp_path: Path) -> None:
    """A directory resource is rendered first (its namespace), then the parent's labels apply."""
    write(tmp_path / "child", {"namespace": "inner", "resources": ["a.yaml"]}, {"a.yaml": [DEPLOYMENT]})
    write(tmp_path, {"labels": [{"pairs": {"outer": "yes"}}], "resources": ["child"]}, {})
    deployment = by_kind(kustomize.render(tmp_path), "Deployment")
    assert deployment["metadata"]["namespace"] == "inner"
    assert deployment["metadata"]["labels"] == {"outer": "yes"}


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ({"resources": ["a.yaml"], "patches": [{"path": "p.yaml"}]}, "unsupported fields"),
        ({"resources": ["missing.yaml"]}, "does not exist"),
        ({"resources": ["a.yaml"], "labels": [{"pairs": {"a": "b"}, "includeSelectors": True}]}, "not supported"),
        ({"resources": ["a.yaml"], "configMapGenerator": [{"name": "c", "behavior": "merge"}]}, "unsupported fields"),
    ],
)
def test_unsupported_or_broken_kustomization_is_refused(tmp_path: Path, kustomization: dict[str, Any], message: str) -> None:
    """What the renderer cannot do faithfully is an error, never silently skipped."""
    write(tmp_path, kustomization, {"a.yaml": [DEPLOYMENT]})
    with pytest.raises(kustomize.KustomizeError, match=message):
        kustomize.render(tmp_path)


def test_directory_without_kustomization_is_refused(tmp_path: Path) -> None:
    """Rendering a plain directory is an error."""
    with pytest.raises(kustomize.KustomizeError, match="no kustomization.yaml"):
        kustomize.render(tmp_path)


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) not installed")
@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_renderer_matches_kubectl_kustomize(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    """Where kubectl exists, its kustomize produces exactly the renderer's objects."""
    result = subprocess.run(["kubectl", "kustomize", str(KUSTOMIZATIONS[name])], capture_output=True,
                            text=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    theirs = {_key(o): o for o in yaml.safe_load_all(result.stdout) if o}
    ours = {_key(o): o for o in rendered[name]}
    assert ours == theirs
