"""`meshctl translate`: a Mapping tried on one JSON message, offline; exit 0, 1 or 2."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from control_plane.translate_cli import add_commands, run_translate
from demo.mappings import registry_mapping
from mesh.translate import gif

RESIDENT = {"residentCode": "12345678901", "shimei": "村上　春樹", "shimeiKana": "ﾑﾗｶﾐ ﾊﾙｷ",
            "seinengappi": "令和元年5月1日", "seibetsu": "女", "householdId": "H-0001"}


def _run(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="meshctl")
    add_commands(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run_translate(parser.parse_args(["translate", *args]))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(registry_mapping(), allow_unicode=True), encoding="utf-8")
    return path


def test_translates_to_canonical_and_prints_json(mapping_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Local JSON in, canonical JSON out, exit 0."""
    code, out, _ = _run(["-f", str(mapping_file), "--to", "canonical", "--message", "resident"],
                        json.dumps(RESIDENT), monkeypatch, capsys)
    assert code == 0
    person = json.loads(out)
    assert (person["familyName"], person["givenName"], person["dateOfBirth"], person["sex"]) == \
        ("村上", "春樹", "2019-05-01", "2")


def test_translates_to_local(mapping_file: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """Canonical JSON in, the system's own JSON out."""
    person = {"personId": "1", "familyName": "山田", "givenName": "花子", "dateOfBirth": "1989-01-08"}
    code, out, _ = _run(["-f", str(mapping_file), "--to", "local", "--message", "resident"],
                        json.dumps(person), monkeypatch, capsys)
    assert code == 0 and json.loads(out) == {"residentCode": "1", "shimei": "山田\u3000花子",
                                             "seinengappi": "平成元年1月8日"}


@pytest.mark.parametrize(("args", "stdin", "code", "error"), [
    (["--to", "canonical", "--message", "resident"], json.dumps({"shimei": "村上春樹"}), 1,
     "error: Mapping 131016/registry-gif 1.0.0 (generation 0), resident to canonical: shimei: "),
    (["--to", "canonical"], "{}", 2, "--message is required"),
    (["--to", "canonical", "--message", "nope"], "{}", 2, "no message mapping 'nope'"),
    (["--to", "canonical", "--message", "resident"], "{not json", 2, "stdin is not a demo.v1.Resident"),
    (["--to", "canonical", "--message", "resident"], json.dumps({"shimi": "x"}), 2, "shimi"),
])
def test_failures_exit_one_or_two_with_the_reason(
    mapping_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], stdin: str, code: int, error: str,
) -> None:
    """A refused message exits 1 naming the field; unusable input exits 2."""
    got, out, err = _run(["-f", str(mapping_file), *args], stdin, monkeypatch, capsys)
    assert got == code and out == "" and error in err


def test_an_invalid_mapping_lists_every_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A mapping that does not compile: exit 1, one `error: path: message` line per problem."""
    document: dict[str, Any] = registry_mapping()
    document["spec"]["messages"][2]["rules"][0]["field"]["functions"] = [{"name": "digits_to_ascii"}]
    document["spec"]["messages"][0]["rules"][0]["field"]["local"] = ["nope"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    code, _, err = _run(["-f", str(path), "--to", "canonical", "--message", "resident"], "{}",
                        monkeypatch, capsys)
    assert code == 1
    assert "error: spec.messages[0].rules[0].field.local[0]: " in err
    assert "error: spec.messages[2].rules[0].field.functions[0].name: " in err


def test_a_schema_file_is_used_when_given(tmp_path: Path, mapping_file: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """--schema reads the Schema from YAML; a Schema the Mapping does not name is a usage error."""
    schema = tmp_path / "schema.yaml"
    schema.write_text(yaml.safe_dump(gif.schema_document()), encoding="utf-8")
    code, _, _ = _run(["-f", str(mapping_file), "--schema", str(schema), "--to", "canonical",
                       "--message", "get-resident"], "{}", monkeypatch, capsys)
    assert code == 0
    other = gif.schema_document()
    other["metadata"]["name"] = "other-v1"
    schema.write_text(yaml.safe_dump(other), encoding="utf-8")
    code, _, err = _run(["-f", str(mapping_file), "--schema", str(schema), "--to", "canonical",
                         "--message", "get-resident"], "{}", monkeypatch, capsys)
    assert code == 2 and "pass it with --schema" in err
