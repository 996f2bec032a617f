"""Kustomization rendering: the subset of kustomize that deploy/k8s/ uses, in plain Python.

`kubectl apply -k` is what operators run; this renders the same output where no kustomize
binary exists (CI), so tests can check the objects a cluster would receive. It supports
resources (files and kustomization directories), namespace, labels (metadata only),
configMapGenerator (files and literals, with kustomize's content-hash name suffix and the
references to the generated name rewritten in pod specs) and images. Any other field is an
error rather than silently ignored.

    python -m deploy.kustomize deploy/k8s/base
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILE = "kustomization.yaml"
SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "namespace", "labels", "configMapGenerator", "images"}
)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
        "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    }
)
# kustomize swaps these hex digits so that a suffix cannot spell words.
_HASH_SWAP = str.maketrans("013ae", "ghkmt")

Object = dict[str, Any]


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render faithfully."""


def render(directory: Path) -> list[Object]:
    """Every object the kustomization in `directory` produces, fully transformed."""
    directory = Path(directory)
    spec = _load_kustomization(directory)
    objects: list[Object] = []
    for entry in spec.get("resources", []):
        objects.extend(_load_resource(directory, entry))
    renames: dict[str, str] = {}
    for generator in spec.get("configMapGenerator", []):
        config_map = _generate_config_map(directory, generator)
        renames[generator["name"]] = config_map["metadata"]["name"]
        objects.append(config_map)
    namespace = spec.get("namespace")
    for obj in objects:
        if namespace and obj.get("kind") not in CLUSTER_SCOPED_KINDS:
            obj.setdefault("metadata", {})["namespace"] = namespace
        for entry in spec.get("labels", []):
            _apply_labels(obj, entry)
        for pod in pod_specs(obj):
            _apply_images(pod, spec.get("images", []))
            _rename_config_maps(pod, renames)
    return objects


def config_map_hash(data: dict[str, str]) -> str:
    """kustomize's name suffix for a generated ConfigMap with `data`: the first 10 hex digits
    of sha256 over Go's JSON of {data, kind, name} (name is empty when hashed, as in kustomize
    v5), with 0/1/3/a/e swapped for g/h/k/m/t."""
    doc = {"data": data, "kind": "ConfigMap", "name": ""}
    encoded = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes these; the hash must see the same bytes.
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        encoded = encoded.replace(char, escape)
    return hashlib.sha256(encoded.encode()).hexdigest()[:10].translate(_HASH_SWAP)


def _load_kustomization(directory: Path) -> Object:
    path = directory / KUSTOMIZATION_FILE
    if not path.is_file():
        raise KustomizeError(f"{directory}: no {KUSTOMIZATION_FILE}")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise KustomizeError(f"{path}: must be a mapping")
    unknown = sorted(set(spec) - SUPPORTED_FIELDS)
    if unknown:
        raise KustomizeError(f"{path}: unsupported fields {unknown}")
    for entry in spec.get("labels", []):
        extra = sorted(set(entry) - {"pairs"})
        if extra:
            raise KustomizeError(f"{path}: labels options {extra} are not supported (metadata labels only)")
    return spec


def _load_resource(directory: Path, entry: str) -> list[Object]:
    target = (directory / entry).resolve()
    if target.is_dir():
        return render(target)
    if not target.is_file():
        raise KustomizeError(f"{directory / KUSTOMIZATION_FILE}: resource {entry!r} does not exist")
    docs = [doc for doc in yaml.safe_load_all(target.read_text(encoding="utf-8")) if doc is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise KustomizeError(f"{target}: every document must be a Kubernetes object")
    return docs


def _generate_config_map(directory: Path, generator: Object) -> Object:
    extra = sorted(set(generator) - {"name", "files", "literals"})
    if extra:
        raise KustomizeError(f"configMapGenerator {generator.get('name')!r}: unsupported fields {extra}")
    data: dict[str, str] = {}
    for item in generator.get("files", []):
        key, sep, source = item.partition("=")
        path = directory / (source if sep else key)
        key = key if sep else Path(key).name
        data[key] = path.read_text(encoding="utf-8")
    for item in generator.get("literals", []):
        key, sep, value = item.partition("=")
        if not sep:
            raise KustomizeError(f"configMapGenerator literal {item!r} is not KEY=VALUE")
        data[key] = value
    name = f"{generator['name']}-{config_map_hash(data)}"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _apply_labels(obj: Object, entry: Object) -> None:
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels.update({str(k): str(v) for k, v in entry.get("pairs", {}).items()})


def pod_specs(obj: Object) -> Iterator[Object]:
    """The pod spec(s) inside a workload object (none for other kinds)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        yield spec
    elif kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        yield spec.get("template", {}).get("spec", {})
    elif kind == "CronJob":
        yield spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})


def _containers(pod: Object) -> Iterator[Object]:
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def _apply_images(pod: Object, images: list[Object]) -> None:
    for container in _containers(pod):
        name, tag, digest = _split_image(container.get("image", ""))
        for image in images:
            if image["name"] != name:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                tag, digest = None, image["digest"]
            elif "newTag" in image:
                tag, digest = image["newTag"], None
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
            break


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1:], digest or None
    return rest, None, digest or None


def _rename_config_maps(pod: Object, renames: dict[str, str]) -> None:
    if not renames:
        return
    refs: list[Object] = []
    for volume in pod.get("volumes", []):
        refs.append(volume.get("configMap") or {})
        for source in (volume.get("projected") or {}).get("sources", []):
            refs.append(source.get("configMap") or {})
    for container in _containers(pod):
        for env in container.get("env", []):
            refs.append((env.get("valueFrom") or {}).get("configMapKeyRef") or {})
        for env_from in container.get("envFrom", []):
            refs.append(env_from.get("configMapRef") or {})
    for ref in refs:
        if ref.get("name") in renames:
            ref["name"] = renames[ref["name"]]


def to_yaml(objects: list[Object]) -> str:
    """Objects as one multi-document YAML stream."""
    return yaml.safe_dump_all(copy.deepcopy(objects), sort_keys=False, allow_unicode=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m deploy.kustomize DIR", file=sys.stderr)
        return 2
    try:
        print(to_yaml(render(Path(argv[0]))), end="")
    except (KustomizeError, OSError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
