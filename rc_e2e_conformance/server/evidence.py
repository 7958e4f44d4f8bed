"""A per-test channel for evidence: `expect_*` records exchanges, the report collector reads them."""
from __future__ import annotations

import threading

from rc_e2e_conformance.contract.results import Evidence

_local = threading.local()


def _items() -> list[Evidence]:
    items = getattr(_local, "items", None)
    if items is None:
        items = _local.items = []
    return items


def record(evidence: Evidence) -> None:
    """Attach one (already redacted) exchange to the test running in this thread."""
    _items().append(evidence)


def take() -> tuple[Evidence, ...]:
    """Return and forget the evidence recorded since the last call (called once per test)."""
    items = tuple(_items())
    _items().clear()
    return items
