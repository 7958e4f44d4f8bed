"""compare: the compatibility matrix across reports, its Markdown/HTML output and the CLI subcommand."""
from __future__ import annotations

import json

from rc_e2e_conformance.cli.main import main
from rc_e2e_conformance.report import write_reports
from rc_e2e_conformance.report.compare import build_matrix, load_report, render_compare_html, render_compare_md

from .synthetic import mixed_report, mixed_results, result, run_info
from .test_writers import _Assets


def two_reports(tmp_path):
    a = mixed_report(run=run_info(embedded=False, url="https://old.example.com", version="6.13.0"))
    fixed = [r for r in mixed_results() if r.requirement_ids not in (("AUTH-02",), ("TFA-09",))]
    fixed += [result("AUTH-02"), result("TFA-09")]
    b = mixed_report(run=run_info(embedded=False, url="https://new.example.com:3000", version="7.4.0"), results=fixed)
    write_reports(a, tmp_path / "a")
    write_reports(b, tmp_path / "b")
    return tmp_path / "a" / "report.json", tmp_path / "b" / "report.json"


def test_matrix_rows_columns_and_differences(tmp_path):
    pa, pb = two_reports(tmp_path)
    matrix = build_matrix([load_report(pa), load_report(pb)])
    assert [c["label"] for c in matrix["columns"]] == ["old.example.com 6.13.0 (6.x)",
                                                          "new.example.com:3000 7.4.0 (7.x)"]
    assert [c["verdict"] for c in matrix["columns"]] == ["fail", "pass"]
    rows = {r["id"]: r for r in matrix["rows"]}
    assert rows["AUTH-02"]["statuses"] == ["fail", "pass"] and rows["AUTH-02"]["differs"]
    assert rows["AUTH-01"]["statuses"] == ["pass", "pass"] and not rows["AUTH-01"]["differs"]
    assert list(rows)[0] == "API-01"


def test_markdown_and_html_output(tmp_path):
    pa, pb = two_reports(tmp_path)
    matrix = build_matrix([load_report(pa), load_report(pa)])
    assert [c["label"] for c in matrix["columns"]][1].endswith("#2")
    md = render_compare_md(build_matrix([load_report(pa), load_report(pb)]))
    assert "| AUTH-02 (MUST) ≠ | ❌ fail | ✅ pass |" in md
    assert "**FAIL**" in md and "**PASS**" in md
    html = render_compare_html(build_matrix([load_report(pa), load_report(pb)]))
    parser = _Assets()
    parser.feed(html)
    assert parser.refs == [] and html.count('<tr class="differs">') == 2


def test_cli_compare_writes_files_or_prints(tmp_path, capsys):
    pa, pb = two_reports(tmp_path)
    assert main(["compare", str(pa), str(pb), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "compare.md").is_file() and (tmp_path / "cmp" / "compare.html").is_file()
    capsys.readouterr()
    assert main(["compare", str(pa), str(pb), "--label", "6.x", "--label", "7.x"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Compatibility of users.resetE2EKey across 2 report(s)") and "| 6.x | 7.x |" in out


def test_cli_compare_rejects_an_invalid_report_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    data = mixed_report()
    data["verdict"] = "green"
    bad.write_text(json.dumps(data))
    assert main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a valid report (verdict" in err and "Traceback" not in err
    assert main(["compare", str(tmp_path / "missing.json")]) == 2


def test_labels_name_target_version_and_profile_and_keep_embedded_runs_apart(tmp_path):
    def embedded(profile, seed, mutant=None):
        run = run_info(embedded=True, version="7.0.0-refserver", profile=profile, mutant=mutant)
        run.seed = seed
        return mixed_report(run=run)

    labels = [c["label"] for c in build_matrix([embedded("7", 1), embedded("6", 1), embedded("7", 2),
                                                 embedded("7", 1, "any_code_accepted")])["columns"]]
    assert labels == ["embedded 7.x seed 1", "embedded 6.x", "embedded 7.x seed 2",
                      "embedded 7.x mutant any_code_accepted"]
    assert len(set(labels)) == 4
    md = render_compare_md(build_matrix([embedded("7", 1), embedded("7", 1, "any_code_accepted")]))
    assert "| Profile | 7.x | 7.x |" in md and "MUTANT any_code_accepted (embedded)" in md
