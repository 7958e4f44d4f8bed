"""Write a report dict to report.json, report.md, report.html and junit.xml, redacting everything."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from rc_e2e_conformance.contract.redact import redact

from .build import first_line
from .render import render_html, render_markdown

FILES = ("report.json", "report.md", "report.html", "junit.xml")


def redact_tree(value: Any) -> Any:
    """Every string value of a JSON-like tree through `redact()` (keys are ours, never secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


def run_properties(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) facts of the run shown by JUnit (and kept in the same order everywhere)."""
    t, run = report["target"], report.get("run", {})
    return [("target", t["url"]), ("target_kind", t.get("kind", "embedded" if t["embedded"] else "live")),
            ("mutant", t.get("mutant") or ""), ("server_version", t["server_version"] or "unknown"),
            ("profile", t.get("profile") or "unknown"), ("profile_note", t.get("profile_note") or ""),
            ("verdict", report["verdict"]), ("strict", str(report["strict"]).lower()),
            ("seed", str(report["seed"])), ("examples", str(run.get("examples"))),
            ("opt_in", " ".join(run.get("opt_in", ()))), ("reproduce", run.get("reproduce", "")),
            ("spec_sha256", report["spec_sha256"]), ("suite_version", report["suite_version"]),
            *((k + "_version", v) for k, v in run.get("versions", {}).items())]


#: The JUnit element of a status (pass and xpass have none) and its message's prefix.
_JUNIT = {"fail": ("failure", ""), "error": ("error", ""), "skip": ("skipped", ""),
          "xfail": ("skipped", "known deviation (xfail): "),
          "warn": ("skipped", "SHOULD requirement failed (a failure with --strict): ")}


def render_junit(report: dict[str, Any]) -> str:
    """One testcase per requirement, named by its ID (the statement is a property).

    fail → <failure>, error → <error>; skip, xfail and a SHOULD failure without strict (warn) →
    <skipped> with the reason, so CI shows them without failing; xpass passes with a note. A test
    verifying several requirements has its time shared between them, so the times add up to the run's.
    """
    reqs = report["requirements"]
    shares = Counter(t["nodeid"] for r in reqs for t in r["tests"])
    total_time = 0.0
    suite = ET.Element("testsuite", name="rc-conformance users.resetE2EKey")
    props = ET.SubElement(suite, "properties")
    for name, value in run_properties(report):
        ET.SubElement(props, "property", name=name, value=redact(str(value)))
    for r in reqs:
        time = sum(t["duration_s"] / shares[t["nodeid"]] for t in r["tests"])
        total_time += time
        case = ET.SubElement(suite, "testcase", classname=r["family"], name=r["id"], time=f"{time:.3f}")
        case_props = ET.SubElement(case, "properties")
        ET.SubElement(case_props, "property", name="statement", value=redact(r["statement"]))
        ET.SubElement(case_props, "property", name="level", value=r["level"])
        detail = redact("\n\n".join(f"{t['nodeid']} ({t['outcome']})\n{t['message']}"
                                    for t in r["tests"] if t["message"]) or r["reason"])
        status = r["status"]
        if status in _JUNIT:
            tag, prefix = _JUNIT[status]
            element = ET.SubElement(case, tag, message=redact(prefix + first_line(r["reason"], 500)))
            if tag != "skipped":
                element.set("type", "could not judge" if tag == "error" else f"{r['level']} requirement failed")
                element.text = detail
        if status in ("warn", "xpass"):
            ET.SubElement(case, "system-out").text = detail if status == "warn" else redact(f"XPASS: {r['reason']}")
    statuses = [r["status"] for r in reqs]
    totals = {"tests": str(len(reqs)), "failures": str(statuses.count("fail")), "errors": str(statuses.count("error")),
              "skipped": str(sum(statuses.count(s) for s in ("skip", "xfail", "warn"))), "time": f"{total_time:.3f}"}
    suite.attrib.update(totals)
    if report["started"]:
        suite.set("timestamp", report["started"])
    if report["harness_error"]:
        ET.SubElement(suite, "system-err").text = redact(report["harness_error"])
    root = ET.Element("testsuites", {"name": "rc-conformance", **totals})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_all(report: dict[str, Any]) -> dict[str, str]:
    """File name → text. Every string is redacted before rendering (escaping, e.g. `&` → `&amp;`,
    would hide a secret from a later pass) and every rendered text once more (defence in depth)."""
    clean = redact_tree(report)
    return {
        "report.json": json.dumps(clean, indent=2, ensure_ascii=False) + "\n",
        "report.md": redact(render_markdown(clean)),
        "report.html": redact(render_html(clean)),
        "junit.xml": redact(render_junit(clean)),
    }


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename so a reader (CI, a browser) never sees a half-written report.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_reports(report: dict[str, Any], out_dir: str | Path | None, *, junit: str | Path | None = None) -> list[Path]:
    """The four files in `out_dir` (when given), and the JUnit XML also at `junit` (when given)."""
    texts = render_all(report)
    paths = [write_file(Path(out_dir) / name, text) for name, text in texts.items()] if out_dir else []
    if junit and Path(junit).resolve() not in {p.resolve() for p in paths}:
        paths.append(write_file(Path(junit), texts["junit.xml"]))
    return paths
