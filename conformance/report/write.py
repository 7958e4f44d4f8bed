"""Write a report dict to report.json, report.md, report.html and junit.xml, redacting everything."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..redact import redact
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


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(redact_tree(report), indent=2, ensure_ascii=False) + "\n"


def short_statement(statement: str, limit: int = 60) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_junit(report: dict[str, Any]) -> str:
    """One testcase per requirement. warn and xpass pass (with a note): CI gates on MUST failures;
    xfail and skip are <skipped>, as pytest's own junit does for xfail."""
    reqs = report["requirements"]
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    suite = ET.Element("testsuite", name="rc-conformance users.resetE2EKey")
    props = ET.SubElement(suite, "properties")
    for name, value in (("target", report["target"]["url"]), ("embedded", report["target"]["embedded"]),
                        ("server_version", report["target"]["server_version"] or "unknown"),
                        ("verdict", report["verdict"]), ("seed", report["seed"]),
                        ("spec_sha256", report["spec_sha256"]), ("suite_version", report["suite_version"])):
        ET.SubElement(props, "property", name=name, value=redact(str(value)))
    for r in reqs:
        time = sum(t["duration_s"] for t in r["tests"])
        total_time += time
        case = ET.SubElement(suite, "testcase", classname=r["family"],
                             name=f"{r['id']} {short_statement(r['statement'])}", time=f"{time:.3f}")
        detail = redact("\n\n".join(f"{t['nodeid']} ({t['outcome']})\n{t['message']}"
                                    for t in r["tests"] if t["message"]) or r["reason"])
        status = r["status"]
        if status == "fail":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=redact(first_line(r["reason"], 500)),
                          type=f"{r['level']} requirement failed").text = detail
        elif status == "error":
            counts["errors"] += 1
            ET.SubElement(case, "error", message=redact(first_line(r["reason"], 500)),
                          type="harness error").text = detail
        elif status in ("skip", "xfail"):
            counts["skipped"] += 1
            prefix = "xfail: " if status == "xfail" else ""
            ET.SubElement(case, "skipped", message=redact(prefix + first_line(r["reason"], 500)))
        elif status in ("warn", "xpass"):
            ET.SubElement(case, "system-out").text = redact(f"{status.upper()}: {r['reason']}\n{detail}")
    suite.set("tests", str(len(reqs)))
    for k, v in counts.items():
        suite.set(k, str(v))
    suite.set("time", f"{total_time:.3f}")
    if report["harness_error"]:
        ET.SubElement(suite, "system-err").text = redact(report["harness_error"])
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_all(report: dict[str, Any]) -> dict[str, str]:
    """File name → text. Every string is redacted before rendering (escaping, e.g. `&` → `&amp;`,
    would hide a secret from a later pass) and every rendered text once more (defence in depth)."""
    clean = redact_tree(report)
    return {
        "report.json": render_json(clean),
        "report.md": redact(render_markdown(clean)),
        "report.html": redact(render_html(clean)),
        "junit.xml": redact(render_junit(clean)),
    }


def write_reports(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_all(report).items():
        path = out / name
        # Write-then-rename so a reader (CI, a browser) never sees a half-written report.
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths
