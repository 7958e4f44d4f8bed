"""The reference server under a short mixed load (16 clients, ~3 s): no 5xx, no lost write, consistent state."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "refserver_load.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refserver_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sixteen_clients_mixed_load(tmp_path: Path) -> None:
    bench = _bench()
    log = tmp_path / "ref.log"
    proc, url = bench.start_server(str(tmp_path / "load.db"), str(log))
    try:
        figures = bench.run_load(url, clients=16, seconds=3.0)
        problems = bench.check_state(url, figures)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    summary = figures.summary()
    assert summary["server_errors"] == 0, summary
    assert figures.errors == [], figures.errors[:5]
    assert problems == [], problems[:5]
    ops = summary["operations"]
    assert {"create", "login", "set_keys", "fetch", "reset"} <= set(ops), ops
    assert ops["reset"]["count"] >= 16 and summary["users"] >= 32, summary  # it really ran concurrently
    assert any(k is not None for k in figures.expected_keys.values())  # some users keep keys: checked too
    assert "INTERNAL ERROR" not in log.read_text(errors="replace")
