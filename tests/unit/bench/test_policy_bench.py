"""The policy micro-benchmark measures what it says: its table compiles at the stated size and
each case decides as its name says."""

from __future__ import annotations

import pytest

from bench.policy import cases, check, resources, table_size
from mesh.policy import PolicyTable, Reason, compile_policies


@pytest.fixture(scope="module")
def table() -> PolicyTable:
    return compile_policies(resources())


def test_table_has_the_stated_size(table: PolicyTable) -> None:
    """40 municipalities × 5 Systems; 3 providers each with 6 rules of 8 methods."""
    size = table_size(table)
    assert size["systems"] == 200 and size["providers_with_policy"] == 120
    assert size["rules"] == 720 and size["methods"] == 960 and size["purposes"] == 20


def test_every_case_decides_as_named(table: PolicyTable) -> None:
    """check() passes, and every deny reason the sidecar can give is among the cases."""
    measured = cases(table)
    check(measured)
    assert {expected for _, _, expected in measured} >= set(Reason) - {Reason.RATE_LIMITED}


def test_a_case_deciding_otherwise_is_refused(table: PolicyTable) -> None:
    """A case whose outcome differs from its expectation stops the benchmark."""
    name, call, _ = cases(table)[0]
    with pytest.raises(RuntimeError, match="expected 'no policy'"):
        check([(name, call, Reason.NO_POLICY)])
