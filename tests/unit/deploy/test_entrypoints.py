"""The programs the image and the manifests start exist and import."""

from __future__ import annotations

import importlib
import pytest

from deploy import kustomize
from tests.unit.deploy.conftest import KUSTOMIZATIONS
from tests.unit.deploy.manifests import containers, module_of, pod_spec, workloads

# Modules the manifests run that the programs do not provide yet (see deploy/k8s/README.md,
# "What the programs must add"). Strict: once a module exists, its entry here must go.
PENDING: dict[str, str] = {}


def modules_run_by_manifests() -> list[str]:
    modules = set()
    for directory in KUSTOMIZATIONS.values():
        for workload in workloads(kustomize.render(directory)):
            modules |= {m for c in containers(pod_spec(workload)) if (m := module_of(c))}
    return sorted(modules)


@pytest.mark.parametrize("module", ["sidecar.__main__", "control_plane.__main__"])
def test_program_entry_point_imports(module: str) -> None:
    """`python -m sidecar` and `python -m control_plane` have an importable __main__ with run()."""
    assert callable(importlib.import_module(module).run)


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=PENDING[m])) if m in PENDING else m
     for m in modules_run_by_manifests()],
)
def test_module_run_by_a_manifest_imports(module: str) -> None:
    """Every `python -m MODULE` in a manifest names a module that imports (a package runs
    its __main__)."""
    try:
        importlib.import_module(f"{module}.__main__")
    except ModuleNotFoundError as exc:
        if exc.name != f"{module}.__main__":
            raise
        importlib.import_module(module)


def test_manifests_run_both_programs() -> None:
    """The manifests really start the sidecar and the control plane."""
    assert {"sidecar", "control_plane"} <= set(modules_run_by_manifests())
