"""The demo's Mappings as YAML documents: City A's resident registry and the welfare system,
each between its own messages and the shipped canonical schema (gif-core-v1).

The registry (provider) names people in one string, writes birth dates in wareki and sex as
男/女; the welfare system (consumer) splits names into a nested message, keeps kana in
hiragana, and writes an ISO date and an integer GIF sex code. Each sees only its own schema.
"""

from __future__ import annotations

from typing import Any

from demo.resources import CITY_A, CITY_B, descriptor_set, doc
from mesh.translate import gif

GET_PERSON = f"/{gif.PACKAGE}.PersonRegistry/GetPerson"
LIST_HOUSEHOLD = f"/{gif.PACKAGE}.PersonRegistry/ListHousehold"

# One person, in the canonical vocabulary; the examples of both mappings agree on it.
MURAKAMI = {
    "personId": "12345678901", "familyName": "村上", "givenName": "春樹",
    "familyNameKana": "ムラカミ", "givenNameKana": "ハルキ", "dateOfBirth": "1949-01-12",
    "sex": "1", "address": {"fullAddress": "東京都千代田区内幸町一丁目1番1号", "postalCode": "1000011"},
    "householdId": "H-0001",
}


def _field(local: str | list[str], canonical: str | list[str], *functions: Any) -> dict[str, Any]:
    calls = [f if isinstance(f, dict) else {"name": f} for f in functions]
    rule: dict[str, Any] = {"local": [local] if isinstance(local, str) else local,
                            "canonical": [canonical] if isinstance(canonical, str) else canonical}
    if calls:
        rule["functions"] = calls
    return {"field": rule}


def registry_mapping(org: str = CITY_A, system: str = "registry", version: str = "1.0.0") -> dict[str, Any]:
    """City A's resident registry (demo.v1.ResidentRegistry) ↔ tsunagi.gif.v1.PersonRegistry."""
    from demo.v1 import registry_pb2

    resident = {"name": "resident", "local": "demo.v1.Resident", "canonical": f"{gif.PACKAGE}.Person",
                "rules": [
                    _field("resident_code", "personId"),
                    _field("shimei", ["familyName", "givenName"], "split_name"),
                    _field("shimei_kana", ["familyNameKana", "givenNameKana"],
                           "halfwidth_kana_to_fullwidth", "split_name"),
                    _field("seinengappi", "dateOfBirth", {"name": "wareki_to_iso", "params": {"strict": True}}),
                    _field("seibetsu", "sex", {"name": "lookup_code", "params": {"table": "sex"}}),
                    _field("jusho", "address.fullAddress"),
                    _field("yubin_bango", "address.postalCode", "postal_to_digits"),
                    _field("household_id", "householdId"),
                    {"constant": {"canonical": "localGovernmentCode", "value": org}},
                ]}
    spec = {
        "system": system, "schema": gif.NAME, "version": version,
        "localDescriptorSet": descriptor_set(registry_pb2.DESCRIPTOR),
        "operations": [
            {"local": "/demo.v1.ResidentRegistry/GetResident", "canonical": GET_PERSON,
             "request": "get-resident", "response": "resident"},
            {"local": "/demo.v1.ResidentRegistry/ListHousehold", "canonical": LIST_HOUSEHOLD,
             "request": "list-household", "response": "resident"},
        ],
        "messages": [
            {"name": "get-resident", "local": "demo.v1.GetResidentRequest",
             "canonical": f"{gif.PACKAGE}.GetPersonRequest",
             "rules": [_field("resident_code", "personId")]},
            {"name": "list-household", "local": "demo.v1.ListHouseholdRequest",
             "canonical": f"{gif.PACKAGE}.ListHouseholdRequest",
             "rules": [_field("household_id", "householdId")]},
            resident,
        ],
        "examples": [
            {"message": "get-resident", "local": {"residentCode": "12345678901"},
             "canonical": {"personId": "12345678901"}},
            {"message": "list-household", "local": {"householdId": "H-0001"},
             "canonical": {"householdId": "H-0001"}},
            {"message": "resident",
             "local": {"residentCode": "12345678901", "shimei": "村上　春樹", "shimeiKana": "ﾑﾗｶﾐ ﾊﾙｷ",
                       "seinengappi": "昭和24年1月12日", "seibetsu": "男",
                       "jusho": "東京都千代田区内幸町一丁目1番1号", "yubinBango": "〒100-0011",
                       "householdId": "H-0001"},
             "canonical": {**MURAKAMI, "localGovernmentCode": org}},
        ],
    }
    return doc("Mapping", "registry-gif", spec, org)


def welfare_mapping(org: str = CITY_B, system: str = "welfare", version: str = "1.0.0") -> dict[str, Any]:
    """The welfare system's CitizenDirectory (demo.v1) ↔ tsunagi.gif.v1.PersonRegistry."""
    from demo.v1 import welfare_pb2

    citizen = {"name": "citizen", "local": "demo.v1.Citizen", "canonical": f"{gif.PACKAGE}.Person",
               "rules": [
                   _field("citizen_number", "personId"),
                   _field("name.sei", "familyName"),
                   _field("name.mei", "givenName"),
                   _field("name.sei_yomi", "familyNameKana", "hiragana_to_katakana"),
                   _field("name.mei_yomi", "givenNameKana", "hiragana_to_katakana"),
                   _field("birth_date", "dateOfBirth"),
                   _field("sex", "sex"),
                   _field("residence.zip", "address.postalCode", "postal_to_digits"),
                   _field("residence.address", "address.fullAddress"),
                   _field("family_number", "householdId"),
               ]}
    spec = {
        "system": system, "schema": gif.NAME, "version": version,
        "localDescriptorSet": descriptor_set(welfare_pb2.DESCRIPTOR),
        "operations": [
            {"local": "/demo.v1.CitizenDirectory/LookupCitizen", "canonical": GET_PERSON,
             "request": "citizen-query", "response": "citizen"},
            {"local": "/demo.v1.CitizenDirectory/ListFamily", "canonical": LIST_HOUSEHOLD,
             "request": "family-query", "response": "citizen"},
        ],
        "messages": [
            {"name": "citizen-query", "local": "demo.v1.CitizenQuery",
             "canonical": f"{gif.PACKAGE}.GetPersonRequest",
             "rules": [_field("citizen_number", "personId")]},
            {"name": "family-query", "local": "demo.v1.FamilyQuery",
             "canonical": f"{gif.PACKAGE}.ListHouseholdRequest",
             "rules": [_field("family_number", "householdId")]},
            citizen,
        ],
        "examples": [
            {"message": "citizen-query", "local": {"citizenNumber": "12345678901"},
             "canonical": {"personId": "12345678901"}},
            {"message": "family-query", "local": {"familyNumber": "H-0001"},
             "canonical": {"householdId": "H-0001"}},
            {"message": "citizen",
             "local": {"citizenNumber": "12345678901",
                       "name": {"sei": "村上", "mei": "春樹", "seiYomi": "むらかみ", "meiYomi": "はるき"},
                       "birthDate": "1949-01-12", "sex": 1,
                       "residence": {"zip": "100-0011", "address": "東京都千代田区内幸町一丁目1番1号"},
                       "familyNumber": "H-0001"},
             "canonical": MURAKAMI},
        ],
    }
    return doc("Mapping", "welfare-gif", spec, org)
