"""Glue of `rc-conformance run`: the run's facts, the GitHub job summary, a report whatever Ctrl-C hit."""
from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rc_e2e_conformance import __version__
from rc_e2e_conformance.contract.catalogue import load_catalogue
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import RunInfo

from .build import build_report
from .write import write_reports

if TYPE_CHECKING:
    from rc_e2e_conformance.contract.config import Settings


INTERRUPTED = "the run was interrupted (Ctrl-C or SIGTERM) before the suite could judge and report"


def run_info_for(settings: Settings, **extra: Any) -> RunInfo:
    """The RunInfo of a run, everything known before the target answers (the target fills in the rest)."""
    from rc_e2e_conformance.contract.options import opt_in, reproduce_command
    from rc_e2e_conformance.contract.releases import release_of
    from rc_e2e_conformance.contract.spec import spec_sha256

    return RunInfo(
        target_url=settings.url or "embedded reference server", embedded=settings.embedded, server_version=None,
        suite_version=__version__, spec_sha256=spec_sha256(), seed=settings.seed,
        started=datetime.now(UTC).isoformat(timespec="seconds"), strict=settings.strict,
        examples=settings.examples, opt_in=opt_in(settings), reproduce=reproduce_command(settings),
        profile=settings.refserver_profile if settings.embedded else (
            release_of(settings.server_version).profile if settings.server_version else ""),
        mutant=settings.refserver_mutant, versions=tool_versions(), **extra)


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("pytest", "schemathesis", "hypothesis"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def write_interrupted_report(settings: Settings) -> tuple[dict[str, Any], list[Path]]:
    """A report saying `error: interrupted` when the interrupt landed where the plugin could not write one."""
    run = run_info_for(settings, harness_error=INTERRUPTED)
    run.finished = run.started
    report = build_report(run, [], load_catalogue(), None, settings.strict, date.today(),
                          selected=settings.requirements)
    try:
        paths = write_reports(report, settings.report_dir or "reports", junit=settings.junit)
    except OSError:
        paths = []  # the one-line error names the interrupt; a missing directory is secondary here
    return report, paths


def append_step_summary(paths: Sequence[Path], env: dict[str, str] | None = None) -> bool:
    """Append report.md to $GITHUB_STEP_SUMMARY (GitHub Actions' job summary) when it is set."""
    target = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    md = next((p for p in paths if Path(p).name == "report.md"), None)
    if not target or md is None:
        return False
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(redact(Path(md).read_text(encoding="utf-8")) + "\n")
    except OSError:
        return False  # a summary is a courtesy: never turn a verdict into an error over it
    return True
