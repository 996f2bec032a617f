"""The Store contract against MemoryStore, on a fake clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from mesh.store.memory import MemoryStore
from tests.support.clock import FakeClock
from tests.support.store_contract import StoreContract


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def reader(store: MemoryStore) -> MemoryStore:
    return store.reader()


@pytest.fixture
def prefix() -> bytes:
    return b"/tsunagi/contract/"


@pytest.fixture
def elapse(clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


class TestMemoryStoreContract(StoreContract):
    """MemoryStore keeps every promise of the Store contract."""
