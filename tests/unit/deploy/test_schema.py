"""Every manifest validates offline against the Kubernetes schemas shipped with
kubernetes-validate, in strict mode (unknown fields are errors), for the oldest Kubernetes we
support and the newest schema the package ships."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

from tests.unit.deploy.conftest import K8S, KUSTOMIZATIONS

# 1.30: native sidecars (restartPolicy Always init containers) and the preStop sleep action
# are on by default. The newest shipped schema catches removals and renames.
KUBERNETES_VERSIONS = ("1.30.0", kv.latest_version())
KUSTOMIZATION = "kustomization.yaml"


def validate(obj: dict[str, Any], version: str) -> None:
    """Strict validation; a kind without a schema is a failure too (the CLI only warns)."""
    try:
        kv.validate(obj, version, strict=True)
    except kv.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        raise AssertionError(f"{obj['kind']}/{obj['metadata'].get('name')}: {path}: {exc.message}") from None
    except kv.SchemaNotFoundError as exc:
        raise AssertionError(exc.message) from None


def resource_files() -> list[Path]:
    """Every file a kustomization lists under `resources`."""
    files = []
    for directory in KUSTOMIZATIONS.values():
        spec = yaml.safe_load((directory / KUSTOMIZATION).read_text(encoding="utf-8"))
        files += [directory / entry for entry in spec.get("resources", []) if (directory / entry).is_file()]
    return files


def generator_inputs() -> set[Path]:
    inputs = set()
    for directory in KUSTOMIZATIONS.values():
        spec = yaml.safe_load((directory / KUSTOMIZATION).read_text(encoding="utf-8"))
        for generator in spec.get("configMapGenerator", []):
            inputs |= {directory / item.rpartition("=")[2] for item in generator.get("files", [])}
    return inputs


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_file_validates_strictly(path: Path, version: str) -> None:
    """Each manifest file, as written, is valid for the Kubernetes version."""
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path} holds no object"
    for doc in docs:
        validate(doc, version)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_rendered_objects_validate_strictly(rendered: dict[str, list[dict[str, Any]]], name: str, version: str) -> None:
    """What `kubectl apply -k` sends (generated ConfigMaps, images, namespaces) is valid."""
    for obj in rendered[name]:
        validate(obj, version)


def test_strict_validation_rejects_a_misspelt_field(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """A misspelt field fails: the check is really strict (without --strict it would pass)."""
    deployment = copy.deepcopy(next(o for o in rendered["base"] if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    with pytest.raises(AssertionError, match="imagePullPolice"):
        validate(deployment, KUBERNETES_VERSIONS[0])


def test_kind_without_schema_is_a_failure() -> None:
    """An object whose kind has no schema fails instead of passing with a warning."""
    with pytest.raises(AssertionError, match="Couldn't find schema"):
        validate({"apiVersion": "v1", "kind": "Deploymnet", "metadata": {"name": "x"}}, KUBERNETES_VERSIONS[0])


def test_every_yaml_file_is_a_manifest_a_generator_input_or_a_mesh_resource() -> None:
    """No YAML under deploy/k8s escapes validation by not being listed anywhere."""
    known = set(resource_files()) | generator_inputs()
    known |= {d / KUSTOMIZATION for d in KUSTOMIZATIONS.values()}
    stray = [p for p in K8S.rglob("*.yaml") if p not in known and "mesh" not in p.relative_to(K8S).parts]
    assert stray == []
