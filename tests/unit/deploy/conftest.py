"""Fixtures for the deployment checks: the repository's manifests, rendered once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy import kustomize

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
BASE = K8S / "base"
AGENCY = K8S / "overlays" / "example-agency"
KUSTOMIZATIONS = {"base": BASE, "example-agency": AGENCY}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each kustomization's output, by short name."""
    return {name: kustomize.render(path) for name, path in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="session")
def everything(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every object of every kustomization: what a cluster holds after installing them all."""
    return [obj for objects in rendered.values() for obj in objects]
