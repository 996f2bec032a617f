"""Lookups over rendered Kubernetes objects for the deployment tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploy.kustomize import pod_specs

Object = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def one(objects: list[Object], kind: str, name: str) -> Object:
    """The single object of `kind` named `name` (prefix match for generated ConfigMaps)."""
    found = [o for o in objects if o["kind"] == kind and
             (o["metadata"]["name"] == name or (kind == "ConfigMap" and o["metadata"]["name"].startswith(name + "-")))]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def workloads(objects: list[Object]) -> Iterator[Object]:
    return (o for o in objects if o["kind"] in WORKLOAD_KINDS)


def pod_spec(workload: Object) -> Object:
    return next(pod_specs(workload))


def pod_labels(workload: Object) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"].get("labels", {}))


def namespace_of(obj: Object) -> str:
    return str(obj["metadata"].get("namespace", ""))


def containers(pod: Object) -> list[Object]:
    """Init containers, then containers."""
    return list(pod.get("initContainers", [])) + list(pod.get("containers", []))


def container(pod: Object, name: str) -> Object:
    found = [c for c in containers(pod) if c["name"] == name]
    assert len(found) == 1, f"no single container {name}"
    return found[0]


def container_port(container_: Object, name: str) -> int:
    for port in container_.get("ports", []):
        if port.get("name") == name:
            return int(port["containerPort"])
    raise AssertionError(f"container {container_['name']} has no port named {name}")


def pod_ports(pod: Object) -> dict[str, int]:
    """Every named container port of a pod, name → number."""
    return {p["name"]: int(p["containerPort"]) for c in containers(pod) for p in c.get("ports", []) if "name" in p}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def module_of(container_: Object) -> str | None:
    """The module a `python -m MODULE` container runs, if it runs one."""
    command = list(container_.get("command", []))
    if len(command) >= 3 and command[0].endswith("python") and command[1] == "-m":
        return str(command[2])
    return None


def flag(args: list[str], name: str) -> str | None:
    """The value of --name=value (or True-ish "" for a bare --name) in an argument list."""
    for arg in args:
        if arg == f"--{name}":
            return ""
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def mounted_file(container_: Object, pod: Object, path: str) -> tuple[Object, str] | None:
    """(volume, key) when `path` is a file inside one of the container's volume mounts."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container_.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            return volumes[mount["name"]], path[len(prefix):]
    return None
