"""The image, checked without a container engine: what it copies exists, it installs every
package, and its runtime stage is slim, non-root, shell-free at run time and has no
HEALTHCHECK."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from deploy import dockerfile
from tests.unit.deploy.conftest import REPO
from tests.unit.deploy.manifests import containers, module_of, pod_spec, workloads

DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / "deploy" / "Dockerfile.dockerignore"
VENV_PYTHON = "/opt/tsunagi/bin/python"
# Non-root uid/gid of the image; the pods' securityContext uses the same numbers.
IMAGE_UID = 65532


@pytest.fixture(scope="module")
def instructions() -> list[dockerfile.Instruction]:
    return dockerfile.load(DOCKERFILE)


def final_stage(instructions: list[dockerfile.Instruction]) -> list[dockerfile.Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def copy_sources(instructions: list[dockerfile.Instruction]) -> list[str]:
    """Sources of every COPY/ADD from the build context (not from another stage)."""
    sources: list[str] = []
    for inst in instructions:
        if inst.keyword in ("COPY", "ADD") and "from" not in inst.flags:
            args = inst.exec_args() if inst.is_exec_form else list(inst.args)
            sources += args[:-1]
    return sources


def test_parser_reads_stages_flags_continuations_and_exec_form() -> None:
    """The small Dockerfile parser understands what deploy/Dockerfile uses."""
    parsed = dockerfile.parse(
        'ARG BASE=python:3.11-slim\nFROM ${BASE} AS build\n# comment\nRUN a \\\n  && b\n'
        'FROM ${BASE} AS runtime\nCOPY --from=build /x /x\nCMD ["sidecar", "--config", "f"]\n'
    )
    assert [i.keyword for i in parsed] == ["ARG", "FROM", "RUN", "FROM", "COPY", "CMD"]
    assert [i.stage for i in parsed] == [-1, 0, 0, 1, 1, 1]
    assert parsed[2].raw == "a  && b"
    assert parsed[4].flags == {"from": "build"}
    assert parsed[5].is_exec_form and parsed[5].exec_args() == ["sidecar", "--config", "f"]
    assert not parsed[2].is_exec_form
    assert dockerfile.stage_names(parsed) == {0: "build", 1: "runtime"}


def test_unterminated_continuation_is_an_error() -> None:
    """A Dockerfile that ends inside a continuation is refused."""
    with pytest.raises(ValueError, match="continuation"):
        dockerfile.parse("FROM x\nRUN a \\\n")


def test_every_copy_source_exists(instructions: list[dockerfile.Instruction]) -> None:
    """Every file or directory COPY takes from the build context (the repo root) exists."""
    sources = copy_sources(instructions)
    assert sources
    missing = [s for s in sources if not (REPO / s).exists()]
    assert missing == []


def test_image_copies_every_package_pyproject_installs(instructions: list[dockerfile.Instruction]) -> None:
    """`pip install .` in the image sees every top-level package setuptools would find."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()
                and any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)}
    copied = {s.strip("/").split("/")[0] for s in copy_sources(instructions)}
    assert packages and packages <= copied
    assert "pyproject.toml" in copied


def test_generated_protobuf_code_is_in_a_copied_package(instructions: list[dockerfile.Instruction]) -> None:
    """mesh/v1/*_pb2.py are committed, and mesh/ is copied, so the image has them."""
    assert list((REPO / "mesh" / "v1").glob("*_pb2.py"))
    assert "mesh/" in copy_sources(instructions)


def test_dockerignore_keeps_every_copy_source(instructions: list[dockerfile.Instruction]) -> None:
    """The build context filter does not drop anything a COPY needs (last matching rule wins)."""
    rules = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    for source in copy_sources(instructions):
        name = source.rstrip("/")
        excluded = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(name, pattern):
                excluded = not negate
        assert not excluded, f"{source} is excluded from the build context"


def test_build_and_runtime_are_separate_slim_python_stages(instructions: list[dockerfile.Instruction]) -> None:
    """Two stages on a slim Python base; the runtime stage takes the venv from the build stage
    and runs no installer, so no compiler or package manager state reaches it."""
    args = {i.args[0].partition("=")[0]: i.args[0].partition("=")[2] for i in instructions if i.keyword == "ARG"}
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert len(froms) == 2
    for inst in froms:
        image = inst.args[0]
        if image.startswith("${"):
            image = args[image[2:-1]]
        assert image.startswith("python:3.11") and "slim" in image
    runtime = final_stage(instructions)
    assert [i.flags.get("from") for i in runtime if i.keyword == "COPY"] == ["build"]
    for inst in runtime:
        if inst.keyword == "RUN":
            assert not any(word in inst.raw for word in ("apt-get", "apt ", "pip ", "gcc", "build-essential"))


def test_runtime_stage_runs_as_numeric_non_root_user(instructions: list[dockerfile.Instruction]) -> None:
    """The last USER of the runtime stage is numeric (so runAsNonRoot can check it) and not 0."""
    users = [i for i in final_stage(instructions) if i.keyword == "USER"]
    assert users
    uid, _, gid = users[-1].args[0].partition(":")
    assert uid.isdigit() and int(uid) == IMAGE_UID and gid.isdigit() and int(gid) != 0


def test_entrypoint_and_cmd_need_no_shell(instructions: list[dockerfile.Instruction]) -> None:
    """ENTRYPOINT and CMD are JSON arrays (exec form), and the entry point is the venv's python."""
    runtime = final_stage(instructions)
    for keyword in ("ENTRYPOINT", "CMD"):
        found = [i for i in runtime if i.keyword == keyword]
        assert found and found[-1].is_exec_form, f"{keyword} must be in exec form"
    entrypoint = [i for i in runtime if i.keyword == "ENTRYPOINT"][-1].exec_args()
    assert entrypoint == [VENV_PYTHON, "-m"]


def test_image_has_no_healthcheck(instructions: list[dockerfile.Instruction]) -> None:
    """Health is left to Kubernetes probes."""
    assert not [i for i in instructions if i.keyword == "HEALTHCHECK"]


def test_runtime_never_writes_bytecode(instructions: list[dockerfile.Instruction]) -> None:
    """The root filesystem is read-only at run time: Python must not try to write .pyc files."""
    env = " ".join(i.raw for i in final_stage(instructions) if i.keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env


def test_manifests_run_the_images_python_as_its_user(everything: list[dict[str, Any]]) -> None:
    """Every container of our image runs the venv's python, and pods use the image's uid."""
    for workload in workloads(everything):
        pod = pod_spec(workload)
        for container in containers(pod):
            if module_of(container) is None:
                continue
            assert container["command"][0] == VENV_PYTHON
            assert pod["securityContext"]["runAsUser"] == IMAGE_UID


def test_container_commands_are_lists_not_shell_strings(everything: list[dict[str, Any]]) -> None:
    """No container runs through a shell (`sh -c`): the images have none to rely on."""
    for workload in workloads(everything):
        for container in containers(pod_spec(workload)):
            command = container.get("command", [])
            assert command and not any(part in ("sh", "/bin/sh", "bash", "/bin/bash") for part in command[:1])
            assert json.dumps(command)  # plain strings only
