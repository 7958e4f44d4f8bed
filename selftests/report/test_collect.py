"""collect: the pytest plugin classifies each test (in-process inner pytest runs on generated files)."""
from __future__ import annotations

import textwrap

import pytest

from rc_e2e_conformance.contract.redact import clear_secrets
from rc_e2e_conformance.pytest_plugin.collect import COLLECTOR_KEY, REPORT_KEY

INNER = '''
import pytest
from rc_e2e_conformance.server import evidence
from rc_e2e_conformance.contract.errors import TargetError
from rc_e2e_conformance.contract.redact import register_secret
from rc_e2e_conformance.contract.results import Evidence

register_secret("sup3r-secret-pw")

@pytest.fixture
def broken_fixture():
    raise TargetError("target unreachable: connection refused")

@pytest.fixture
def bad_cleanup():
    yield
    raise RuntimeError("cleanup failed")

@pytest.mark.requirement("AUTH-01")
def test_passes():
    """The documented rule of AUTH-01.

    Details that are not part of the one-line doc."""
    evidence.record(Evidence("POST /x", "401 application/json", "curl x"))

@pytest.mark.requirement("AUTH-02", "AUTH-03")
def test_contract_failure():
    evidence.record(Evidence("POST /y", "200 application/json", "curl y"))
    assert 200 == 401, "expected 401 with password sup3r-secret-pw"

@pytest.mark.requirement("AUTH-04")
def test_harness_error_in_test():
    raise TargetError("network down")

@pytest.mark.requirement("AUTH-05")
def test_fixture_error(broken_fixture):
    pass

@pytest.mark.requirement("AUTH-06")
def test_skipped():
    pytest.skip("2FA is off on this target")

@pytest.mark.requirement("AUTH-07")
def test_teardown_error(bad_cleanup):
    pass

@pytest.mark.requirement("TFA-01")
def test_unexpected_exception():
    {}["missing"]

def test_untagged():
    pass

@pytest.mark.requirement("TFA-02")
def test_with_a_failing_subtest(subtests):
    with subtests.test(msg="first"):
        pass
    with subtests.test(msg="second"):
        assert False, "subtest two broke"
'''


class Grab:
    def __init__(self):
        self.collector = None
        self.report = None

    def pytest_unconfigure(self, config):
        self.collector = config.stash.get(COLLECTOR_KEY, None)
        self.report = config.stash.get(REPORT_KEY, None)


@pytest.fixture(scope="module")
def inner_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("inner")
    (tmp_path / "pytest.ini").write_text(textwrap.dedent("""\
        [pytest]
        markers =
            requirement(*ids): requirement IDs
        """))
    (tmp_path / "test_inner.py").write_text(INNER)
    evidence_leftover = __import__("rc_e2e_conformance.server.evidence", fromlist=["record"])
    from rc_e2e_conformance.contract.results import Evidence

    evidence_leftover.record(Evidence("stale", "stale", "stale"))  # must not stick to the first test
    grab = Grab()
    code = pytest.main([str(tmp_path), "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                        "-p", "rc_e2e_conformance.pytest_plugin.collect", "-p", "no:cacheprovider", "-q", "--tb=no",
                        "--import-mode=importlib", "-W", "ignore::pytest.PytestAssertRewriteWarning"], plugins=[grab])
    yield code, grab
    clear_secrets()


def test_each_test_is_classified(inner_run):
    code, grab = inner_run
    assert code == 1
    by = {r.nodeid.split("::")[1]: r for r in grab.collector.results}
    assert {k: v.outcome for k, v in by.items()} == {
        "test_passes": "passed", "test_contract_failure": "failed", "test_harness_error_in_test": "error",
        "test_fixture_error": "error", "test_skipped": "skipped", "test_teardown_error": "error",
        "test_unexpected_exception": "error", "test_untagged": "passed",
        "test_with_a_failing_subtest": "failed"}
    assert by["test_contract_failure"].requirement_ids == ("AUTH-02", "AUTH-03")
    assert by["test_passes"].doc == "The documented rule of AUTH-01."
    assert by["test_skipped"].message == "2FA is off on this target"
    assert by["test_harness_error_in_test"].message == "TargetError: network down"
    assert "setup:" in by["test_fixture_error"].message and "connection refused" in by["test_fixture_error"].message
    assert "cleanup failed" in by["test_teardown_error"].message
    assert "KeyError" in by["test_unexpected_exception"].message
    assert "subtest two broke" in by["test_with_a_failing_subtest"].message


def test_messages_are_redacted_and_evidence_is_per_test(inner_run):
    _, grab = inner_run
    by = {r.nodeid.split("::")[1]: r for r in grab.collector.results}
    failed = by["test_contract_failure"]
    assert "sup3r-secret-pw" not in failed.message and "***" in failed.message
    assert "expected 401" in failed.message
    assert [e.request for e in by["test_passes"].evidence] == ["POST /x"]
    assert [e.request for e in failed.evidence] == ["POST /y"]
    assert by["test_skipped"].evidence == ()


def test_report_is_built_at_session_end(inner_run):
    _, grab = inner_run
    report = grab.report
    by = {r["id"]: r["status"] for r in report["requirements"]}
    assert (by["AUTH-01"], by["AUTH-02"], by["AUTH-03"], by["AUTH-04"], by["AUTH-06"]) == (
        "pass", "fail", "fail", "error", "skip")
    assert report["verdict"] == "fail"  # proven failures outrank AUTH-04's error
    assert any("name no requirement" in n for n in report["notes"])
    assert len(report["spec_sha256"]) in (0, 64)
