"""One reference server process for the fault selftests (rate limiter off: every run shares one client IP)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from selftests.safety.helpers import RefProcess


@pytest.fixture(scope="session")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefProcess]:
    proc = RefProcess(tmp_path_factory.mktemp("faults") / "ref.db", settings={"API_Enable_Rate_Limiter": "false"})
    try:
        yield proc
    finally:
        proc.stop()
    assert not proc.internal_errors()


@pytest.fixture
def no_leftovers(ref: RefProcess, tmp_path) -> Iterator[None]:
    """After the test: no user of any run left on the server, and no crash record left in the state folder."""
    yield
    left = ref.admin.run_users()
    for name in left:  # delete them anyway, so one failure does not cascade into the next tests
        ref.admin.post("users.delete", {"username": name, "confirmRelinquish": True})
    assert left == []
    state = tmp_path / "state"
    assert not state.is_dir() or not list(state.glob("run-*.json"))
