from __future__ import annotations

from collections.abc import Iterator

import pytest

from truyvet.certificates.selectors import trust_store_forget


@pytest.fixture(autouse=True)
def _a_fresh_trust_store() -> Iterator[None]:
    trust_store_forget()
    yield
    trust_store_forget()
