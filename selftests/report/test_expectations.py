"""Expectations file: formats, validation, version ranges, expiry, and their effect on the report."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rc_e2e_conformance.contract.errors import ConfigError
from rc_e2e_conformance.contract.expectations import VersionRange, load_expectations, parse_version
from rc_e2e_conformance.report.render import render_markdown

from .synthetic import TODAY, mixed_report, run_info

EXAMPLE = Path(__file__).resolve().parents[2] / "expectations.example.toml"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_example_loads():
    exps = load_expectations(EXAMPLE)
    assert [e.requirement for e in exps.entries] == ["AUTH-01", "RATE-01"]
    assert exps.entries[0].expires == date(2026, 12, 31) and exps.entries[0].versions.text == ">=6.0,<7.0"


def test_toml_and_yaml_load_the_same_entries(tmp_path):
    toml = write(tmp_path, "e.toml", '[[expectation]]\nrequirement = "TFA-07"\nreason = "skew"\n'
                                     'versions = ">=6.0"\nexpires = "2030-01-01"\n')
    yml = write(tmp_path, "e.yaml", "expectation:\n  - requirement: TFA-07\n    reason: skew\n"
                                    "    versions: '>=6.0'\n    expires: 2030-01-01\n")
    assert load_expectations(toml).entries == load_expectations(yml).entries


@pytest.mark.parametrize("body, message", [
    ('[[expectation]]\nrequirement = "NOPE-99"\nreason = "x"\n', "unknown requirement id 'NOPE-99'"),
    ('[[expectation]]\nrequirement = "AUTH-01"\n', "reason"),
    ('[[expectation]]\nrequirement = "AUTH-01"\nreason = "x"\nversions = "~7"\n', "bad version comparator"),
    ('[[expectation]]\nrequirement = "AUTH-01"\nreason = "x"\nexpires = "soon"\n', "expires must be a date"),
    ('[[expectation]]\nrequirement = "AUTH-01"\nreason = "x"\nowner = "me"\n', "unknown field"),
    ('[[expectation]\n', "does not parse"),
    ('[other]\n', "only one top-level key"),
])
def test_invalid_files_are_config_errors(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_expectations(write(tmp_path, "e.toml", body))


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_expectations(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="extension"):
        load_expectations(write(tmp_path, "e.json", "{}"))


@pytest.mark.parametrize("rng, version, inside", [
    (">=6.0,<7.0", "6.3.1", True), (">=6.0,<7.0", "7.0.0", False), (">=6.0,<7.0", "5.9", False),
    (">=6.0,<7.0", "6.0", True), ("==7.1", "7.1.0", True), ("7.1", "7.1.2", False),
    ("!=7.1.0", "7.1", False), (">7.1", "7.1.0-rc.1", False), ("<=7.4", "7.4.0-develop", True),
])
def test_version_ranges(rng, version, inside):
    assert VersionRange.parse(rng).contains(version) is inside


def test_parse_version_ignores_suffixes():
    assert parse_version("v7.4.0-rc.2") == (7, 4, 0)
    with pytest.raises(ValueError):
        parse_version("develop")


def _report_with(tmp_path, text, version="7.4.0", today=TODAY):
    exps = load_expectations(write(tmp_path, "e.toml", text))
    return mixed_report(expectations=exps, run=run_info(version=version), today=today)


def test_expired_expectation_no_longer_applies_and_is_reported(tmp_path):
    report = _report_with(tmp_path, '[[expectation]]\nrequirement = "AUTH-02"\nreason = "known"\n'
                                    'expires = 2025-05-31\n')
    auth02 = next(r for r in report["requirements"] if r["id"] == "AUTH-02")
    assert auth02["status"] == "fail" and auth02["expectation"] is None
    assert report["expectations"][0]["state"] == "expired"
    assert "**Expired expectations:** AUTH-02" in render_markdown(report)
    # the expiry day itself still applies
    same_day = _report_with(tmp_path, '[[expectation]]\nrequirement = "AUTH-02"\nreason = "known"\n'
                                      'expires = 2025-06-01\n')
    assert next(r for r in same_day["requirements"] if r["id"] == "AUTH-02")["status"] == "xfail"


def test_version_range_decides_whether_an_expectation_applies(tmp_path):
    text = '[[expectation]]\nrequirement = "AUTH-02"\nreason = "6.x only"\nversions = ">=6.0,<7.0"\n'
    on7 = _report_with(tmp_path, text, version="7.4.0")
    on6 = _report_with(tmp_path, text, version="6.13.1")
    unknown = _report_with(tmp_path, text, version=None)
    status = lambda rep: next(r for r in rep["requirements"] if r["id"] == "AUTH-02")["status"]  # noqa: E731
    assert (status(on7), status(on6), status(unknown)) == ("fail", "xfail", "fail")
    assert [e["state"] for e in on7["expectations"]] == ["version-mismatch"]
    assert [e["state"] for e in unknown["expectations"]] == ["version-unknown"]
    assert on6["verdict"] == "error"  # TFA-09 still errors in the synthetic run


def test_stale_expectation_is_flagged_in_the_markdown(tmp_path):
    report = _report_with(tmp_path, '[[expectation]]\nrequirement = "OK-01"\nreason = "was broken"\n')
    assert next(r for r in report["requirements"] if r["id"] == "OK-01")["status"] == "xpass"
    assert "**Stale expectations:** OK-01" in render_markdown(report)
