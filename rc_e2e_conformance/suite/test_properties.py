"""Property-based tests: schemathesis generates requests (valid and invalid); each answer is judged per SCHEMA-ID.

One exploring test hands the generated cases (schemathesis' examples, coverage and fuzzing phases,
through its public `schema.parametrize()`) and hand-picked raw-body and header cases to the run's
bounded pool (server/inflight.py), each distinct request once; every failed check is filed in a
ledger under the one requirement it belongs to (properties/checks.py). One small test per SCHEMA-ID
then asserts its part (test_verdicts_of_generated_requests.py): a failure fails exactly its
requirement, and the cases are generated once. pytest runs the suite's modules in name order, so
the cases are answered while the hand-written tests between the two modules run.

The schema is loaded from the package's spec; N and the seed are set before collection
(suite/conftest.py), the target's URL at run time.
"""
from __future__ import annotations

from typing import Any

import pytest

from rc_e2e_conformance.properties import Exploration
from rc_e2e_conformance.properties.schema import property_schema


@property_schema().parametrize()
@pytest.mark.requirement("SCHEMA-01", "SCHEMA-02", "SCHEMA-03", "SCHEMA-04")
def test_generated_requests(case: Any, exploration: Exploration) -> None:
    """Generated requests, valid and invalid, are sent once as a dedicated admin; each answer is judged."""
    exploration.run_case(case)
