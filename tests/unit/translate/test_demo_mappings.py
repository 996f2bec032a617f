"""The demo's two Mappings: City A's registry and the welfare system meet only in canonical."""

from __future__ import annotations

import pytest

from demo.mappings import GET_PERSON, registry_mapping, welfare_mapping
from demo.v1 import registry_pb2, welfare_pb2
from mesh.resources import from_dict
from mesh.translate import gif
from mesh.translate.descriptors import pool_from_bytes
from mesh.translate.engine import CompiledMapping, compile_mapping
from mesh.translate.errors import MappingFailed
from mesh.translate.examples import check_examples

MURAKAMI = registry_pb2.Resident(
    resident_code="12345678901", shimei="村上　春樹", shimei_kana="ﾑﾗｶﾐ ﾊﾙｷ", seinengappi="昭和24年1月12日",
    seibetsu="男", jusho="東京都千代田区内幸町一丁目1番1号", yubin_bango="〒100-0011", household_id="H-0001")


def _compile(document: dict) -> CompiledMapping:  # type: ignore[type-arg]
    return compile_mapping(from_dict(document), None, pool_from_bytes(gif.descriptor_set()))


@pytest.fixture(scope="module")
def registry() -> CompiledMapping:
    return _compile(registry_mapping())


@pytest.fixture(scope="module")
def welfare() -> CompiledMapping:
    return _compile(welfare_mapping())


@pytest.mark.parametrize("document", [registry_mapping(), welfare_mapping()], ids=["registry", "welfare"])
def test_demo_examples_pass_both_ways(document: dict) -> None:  # type: ignore[type-arg]
    """Every example of each demo Mapping translates as written, in both directions."""
    mapping = from_dict(document)
    assert check_examples(_compile(document), mapping.spec.examples) == []  # type: ignore[attr-defined]


def test_a_resident_reaches_welfare_in_its_own_schema(registry: CompiledMapping,
                                                      welfare: CompiledMapping) -> None:
    """Registry bytes → canonical → welfare bytes: 姓/名 split, hiragana, ISO date, int sex code."""
    operation = registry.by_canonical[GET_PERSON]
    canonical, _ = operation.response.to_canonical_bytes(MURAKAMI.SerializeToString())
    data, _ = welfare.by_canonical[GET_PERSON].response.to_local_bytes(canonical)
    citizen = welfare_pb2.Citizen.FromString(data)
    assert (citizen.name.sei, citizen.name.mei, citizen.name.sei_yomi) == ("村上", "春樹", "むらかみ")
    assert citizen.birth_date == "1949-01-12" and citizen.HasField("sex") and citizen.sex == 1
    assert citizen.residence.zip == "100-0011" and citizen.family_number == "H-0001"


def test_a_welfare_request_reaches_the_registry_in_its_own_schema(registry: CompiledMapping,
                                                                  welfare: CompiledMapping) -> None:
    """LookupCitizen's request → GetPerson → GetResident, field names and all."""
    query = welfare_pb2.CitizenQuery(citizen_number="12345678901").SerializeToString()
    lookup = welfare.by_local["/demo.v1.CitizenDirectory/LookupCitizen"]
    canonical, _ = lookup.request.to_canonical_bytes(query)
    assert lookup.canonical == GET_PERSON
    data, _ = registry.by_canonical[GET_PERSON].request.to_local_bytes(canonical)
    assert registry_pb2.GetResidentRequest.FromString(data).resident_code == "12345678901"


def test_the_registry_side_refuses_an_unsplittable_name(registry: CompiledMapping) -> None:
    """A registry record whose 氏名 has no separator is refused, naming shimei and the mapping."""
    bad = registry_pb2.Resident(shimei="村上春樹").SerializeToString()
    with pytest.raises(MappingFailed) as exc:
        registry.message("resident").to_canonical_bytes(bad)
    assert exc.value.field == "shimei" and exc.value.mapping == "131016/registry-gif"
