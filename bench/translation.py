"""Translation cost: CPU per message and records per second per core, for the demo's Person
record (about 10 mapped fields, a wareki date and a split name included), both directions.

    python -m bench.translation [--rounds 5] [--seconds 0.3] [--out bench/results]

Each case is bytes in → bytes out, exactly what a sidecar does per message: upb parse, the
compiled rules, serialise. It is measured in CPU time of this process (time.process_time), in
alternating rounds; the median (and the best round, the least disturbed by other load) is
reported. "passthrough" is the raw-bytes fast path (nothing decoded), so a case's figure is
its extra CPU over passthrough. "decode only" is what a parse and serialise alone cost.
Prints a markdown table and writes the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.cputime import Case, alternate
from demo.mappings import registry_mapping, welfare_mapping
from demo.v1 import registry_pb2, welfare_pb2
from mesh.resources import from_dict
from mesh.translate import gif
from mesh.translate.descriptors import pool_from_bytes
from mesh.translate.engine import compile_mapping
from mesh.v1 import mapping_pb2

RESIDENT = registry_pb2.Resident(
    resident_code="12345678901", shimei="村上　春樹", shimei_kana="ﾑﾗｶﾐ ﾊﾙｷ", seinengappi="昭和24年1月12日",
    seibetsu="男", jusho="東京都千代田区内幸町一丁目1番1号", yubin_bango="〒100-0011", household_id="H-0001")
CITIZEN = welfare_pb2.Citizen(
    citizen_number="12345678901", birth_date="1949-01-12", sex=1, family_number="H-0001",
    name=welfare_pb2.PersonalName(sei="村上", mei="春樹", sei_yomi="むらかみ", mei_yomi="はるき"),
    residence=welfare_pb2.Residence(zip="100-0011", address="東京都千代田区内幸町一丁目1番1号"))


def cases() -> list[Case]:
    """(name, one call) for every measured path."""
    canonical_pool = pool_from_bytes(gif.descriptor_set())
    registry = compile_mapping(_mapping(registry_mapping()), None, canonical_pool).message("resident")
    welfare = compile_mapping(_mapping(welfare_mapping()), None, canonical_pool).message("citizen")
    resident = RESIDENT.SerializeToString()
    citizen = CITIZEN.SerializeToString()
    person, kept = registry.to_canonical_bytes(resident)
    cls = registry.local_class
    return [
        ("passthrough (raw bytes, nothing decoded)", lambda: resident),
        ("decode only (parse + serialise Resident)", lambda: cls.FromString(resident).SerializeToString()),
        ("registry Resident → canonical Person", lambda: registry.to_canonical_bytes(resident)),
        ("canonical Person → registry Resident", lambda: registry.to_local_bytes(person)),
        ("canonical Person → registry Resident, restoring from kept",
         lambda: registry.to_local_bytes(person, dict(kept))),
        ("canonical Person → welfare Citizen", lambda: welfare.to_local_bytes(person)),
        ("welfare Citizen → canonical Person", lambda: welfare.to_canonical_bytes(citizen)),
    ]


def _mapping(document: dict[str, Any]) -> mapping_pb2.Mapping:
    message = from_dict(document)
    assert isinstance(message, mapping_pb2.Mapping)
    return message


def run(rounds: int, seconds: float) -> list[dict[str, Any]]:
    results = []
    for r in alternate(cases(), rounds, seconds):
        median = r["us_per_call"]
        results.append({"case": r["case"], "us_per_message": median,
                        "best_us_per_message": r["best_us_per_call"],
                        "records_per_second_per_core": 1e6 / median if median else None,
                        "rounds": r["rounds"]})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="CPU seconds per case per round")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    results = run(args.rounds, args.seconds)
    print("| case | CPU µs / message (median) | best round | records / s / core |\n|---|---:|---:|---:|")
    for r in results:
        rate = f"{r['records_per_second_per_core']:,.0f}" if r["records_per_second_per_core"] else "—"
        print(f"| {r['case']} | {r['us_per_message']:.1f} | {r['best_us_per_message']:.1f} | {rate} |")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"translation-{stamp}.json"
    path.write_text(json.dumps({"at": stamp, "rounds": args.rounds, "seconds": args.seconds,
                                "results": results}, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
