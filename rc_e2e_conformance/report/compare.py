"""Compatibility matrix across servers/releases: requirements × report.json files, statuses and verdicts."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from rc_e2e_conformance.contract.errors import ConfigError
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.resources import REPORT_SCHEMA_PATH

from .render import render_template
from .write import redact_tree, write_file

#: What a matrix column says of its report's target.
_TARGET_KEYS = ("url", "embedded", "server_version", "profile", "mutant")


@lru_cache(maxsize=1)
def report_schema() -> dict[str, Any]:
    return json.loads(REPORT_SCHEMA_PATH.read_text(encoding="utf-8"))


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and validate one report.json; a bad file is a ConfigError naming it."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read report {p}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: not a report object")
    if str(data.get("schema_version", "")).split(".")[0] != "1":
        raise ConfigError(f"{p}: unsupported report schema_version {data.get('schema_version')!r} (need 1.x)")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(report_schema()).iter_errors(data))
    if error is not None:
        where = "/".join(str(x) for x in error.absolute_path) or "(root)"
        raise ConfigError(f"{p}: not a valid report ({where}: {error.message[:200]})")
    return data


def column_label(report: dict[str, Any]) -> str:
    """Target + version + release profile: `chat.example.com 8.0.1 (8.x)`, `embedded 7.x`, `embedded 6.x mutant X`."""
    t = report["target"]
    profile = f"{t['profile']}.x" if t.get("profile") else ""
    if t["embedded"]:
        return f"embedded {profile or '(profile unknown)'}" + (f" mutant {t['mutant']}" if t.get("mutant") else "")
    host = urlsplit(t["url"]).netloc.rsplit("@", 1)[-1] or t["url"]
    return f"{host} {t['server_version'] or '(version unknown)'}" + (f" ({profile})" if profile else "")


def build_matrix(reports: Sequence[dict[str, Any]], labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Rows in the first report's catalogue order (IDs only in later reports are appended)."""
    if labels is not None and len(labels) != len(reports):
        raise ConfigError(f"{len(labels)} label(s) given for {len(reports)} report(s)")
    names = list(labels) if labels else [column_label(r) for r in reports]
    if not labels:  # two reports of the same target/version/profile: the seed, then the order, tells them apart
        twins = {n for n in names if names.count(n) > 1}
        names = [f"{n} seed {r['seed']}" if n in twins and r.get("seed") is not None else n
                 for n, r in zip(names, reports, strict=True)]
    seen: Counter[str] = Counter()
    for i, name in enumerate(names):
        seen[name] += 1
        names[i] = name if seen[name] == 1 else f"{name} #{seen[name]}"
    columns = [{"label": name, **{k: r["target"].get(k) for k in _TARGET_KEYS},
                **{k: r[k] for k in ("verdict", "strict", "suite_version", "spec_sha256", "finished")},
                "statuses": r["summary"]["statuses"]} for name, r in zip(names, reports, strict=True)]
    order: dict[str, dict[str, Any]] = {}
    for r in reports:
        for req in r["requirements"]:
            order.setdefault(req["id"], {"id": req["id"], "level": req["level"], "statement": req["statement"]})
    status_of = [{q["id"]: q["status"] for q in r["requirements"]} for r in reports]
    rows = []
    for rid, meta in order.items():
        statuses = [by_id.get(rid, "absent") for by_id in status_of]
        rows.append({**meta, "statuses": statuses, "differs": len(set(statuses)) > 1})
    notes = []
    if len({c["spec_sha256"] for c in columns}) > 1:
        notes.append("the reports were made against different spec versions (spec SHA-256 differs)")
    if len({c["strict"] for c in columns}) > 1:
        notes.append("some reports ran in strict mode and some did not: SHOULD failures show as fail vs warn")
    return redact_tree({"columns": columns, "rows": rows, "notes": notes})


def render_compare_md(matrix: dict[str, Any]) -> str:
    return redact(render_template("compare.md.j2", autoescape=False, matrix=matrix))


def render_compare_html(matrix: dict[str, Any]) -> str:
    return redact(render_template("compare.html.j2", autoescape=True, matrix=matrix))


def write_compare(matrix: dict[str, Any], out_dir: str | Path) -> list[Path]:
    return [write_file(Path(out_dir) / "compare.md", render_compare_md(matrix)),
            write_file(Path(out_dir) / "compare.html", render_compare_html(matrix))]
