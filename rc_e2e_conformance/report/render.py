"""Render a report dict as Markdown and self-contained HTML from the Jinja2 templates in templates/."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.resources import TEMPLATES_DIR

from .build import OUTCOMES, STATUSES

ICONS = {"pass": "✅", "fail": "❌", "error": "💥", "warn": "⚠️", "skip": "⏭️", "xfail": "✳️", "xpass": "❗"}
MEANINGS = {
    "pass": "the server behaved as the contract says",
    "fail": "the server contradicted a requirement",
    "error": "the suite could not judge (network, provisioning, setup)",
    "warn": "a SHOULD requirement failed (a failure with --strict)",
    "skip": "not run: not selected or a precondition is missing",
    "xfail": "failed as listed in the expectations file",
    "xpass": "listed as a known deviation but passed: stale expectation",
}
#: Colours of the HTML matrix and chart (kept here so the chart and legend agree).
COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#6a1b9a", "warn": "#ef6c00",
           "skip": "#757575", "xfail": "#00838f", "xpass": "#ad1457"}


def _cell(text: object) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _fenced(text: object, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside (so nothing escapes)."""
    body = str(text or "").rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


_CODE_RE = re.compile(r"`([^`]+)`")
_STRONG_RE = re.compile(r"\*\*(.+?)\*\*")


def md_inline(text: object) -> Markup:
    """The catalogue's inline Markdown as safe HTML: `code` and **strong**; everything else escaped.

    Small on purpose: the catalogue uses nothing else, and a full Markdown library would also pass
    raw HTML through from server answers that end up in reasons.
    """
    out = []
    for i, part in enumerate(_CODE_RE.split(str(text or ""))):
        if i % 2:  # inside backticks: literal text, no bold
            out.append(f"<code>{escape(part)}</code>")
        else:
            out.append(_STRONG_RE.sub(r"<strong>\1</strong>", str(escape(part))))
    return Markup("".join(out))


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> jinja2.Environment:
    # StrictUndefined: a typo in a template must fail the selftests, not blank out.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(cell=_cell, fenced=_fenced, md=md_inline)
    return env


def target_title(report: dict[str, Any]) -> str:
    """The target as the first line names it. The embedded server's port changes every run, so it
    is named without its URL to keep report.md byte-identical across runs."""
    t = report["target"]
    if t.get("mutant"):
        return f"MUTANT {t['mutant']} of the embedded reference server (deliberately broken; not a Rocket.Chat server)"
    if t["embedded"]:
        return "embedded reference server (not a Rocket.Chat server)"
    return f"{t['url']} (server version {t.get('server_version') or 'unknown'})"


def profile_text(report: dict[str, Any]) -> str:
    t = report["target"]
    if not t.get("profile"):
        return "not known (the run stopped before the server's version was read)"
    how = " (--refserver-profile)" if t["embedded"] else ""
    return f"{t['profile']}.x{how}" + (f" — {t['profile_note']}" if t.get("profile_note") else "")


def versions_text(report: dict[str, Any]) -> str:
    versions = (report.get("run") or {}).get("versions") or {}
    return " · ".join([f"rc-conformance {report['suite_version']}"]
                      + [f"{'Python' if k == 'python' else k} {v}" for k, v in versions.items()])


def _context(report: dict[str, Any]) -> dict[str, Any]:
    reqs = report["requirements"]
    exps = report["expectations"]
    counts = report["summary"]["statuses"]
    peak = max(counts.values(), default=0) or 1
    return {
        "report": report,
        "run": report.get("run") or {"examples": None, "opt_in": [], "reproduce": "", "versions": {}},
        "profile_text": profile_text(report),
        "versions_text": versions_text(report),
        "target_title": target_title(report),
        "target_cell": "embedded reference server" if report["target"]["embedded"] else report["target"]["url"],
        "statuses": STATUSES,
        "outcomes": OUTCOMES,
        "icons": ICONS,
        "meanings": MEANINGS,
        "colours": COLOURS,
        "failures": [r for r in reqs if r["status"] == "fail"],
        "errors": [r for r in reqs if r["status"] == "error"],
        "warnings": [r for r in reqs if r["status"] == "warn"],
        "expectations": exps,
        "stale": sorted({e["requirement"] for e in exps if e["state"] == "stale"}),
        "expired": sorted({e["requirement"] for e in exps if e["state"] == "expired"}),
        "chart": [{"status": s, "count": counts[s], "width": round(300 * counts[s] / peak, 1)} for s in STATUSES],
        "families": sorted({r["family"] for r in reqs}),
    }


#: Stands for the embedded server's URL in report.md: its port changes every run.
EMBEDDED_URL = "<embedded-server-url>"


def render_markdown(report: dict[str, Any]) -> str:
    text = _env(False).get_template("report.md.j2").render(**_context(report))
    if report["target"]["embedded"] and report["target"]["url"].startswith("http"):
        text = text.replace(report["target"]["url"], EMBEDDED_URL)
    # Collapse the blank-line runs Jinja's block tags leave, so the file reads cleanly.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_html(report: dict[str, Any]) -> str:
    return _env(True).get_template("report.html.j2").render(**_context(report))


def render_template(name: str, autoescape: bool, **context: Any) -> str:
    """Render another template in templates/ (used by compare)."""
    return _env(autoescape).get_template(name).render(icons=ICONS, colours=COLOURS, statuses=STATUSES, **context)


def summary_line(report: dict[str, Any], paths: list[Path]) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in report["summary"]["statuses"].items() if n)
    where = f" — reports: {', '.join(str(p) for p in paths)}" if paths else ""
    return redact(f"rc-conformance: verdict {report['verdict'].upper()} ({counts}){where}")
