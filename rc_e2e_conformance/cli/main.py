"""`rc-conformance run|compare`: run the suite in-process and exit 0/1/2; compare reports across servers."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import random
import re
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import rc_e2e_conformance
from rc_e2e_conformance.contract.errors import HarnessError
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.releases import NEWEST
from rc_e2e_conformance.contract.resources import SUITE_DIR

if TYPE_CHECKING:
    from rc_e2e_conformance.contract.config import Settings

# Everything heavier (pytest, yaml via the config) is imported inside main(), under its
# KeyboardInterrupt handler: a Ctrl-C during start-up is then one line too, never a traceback.

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2  # exit status 2 also for bad input (could not judge)
EXIT_BY_VERDICT = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "error": EXIT_ERROR}
#: How the suite's own pytest runs start (the CLI's and the mutant runs'). Only the plugins the suite needs:
#: an auto-loaded plugin's whole distribution is marked for assertion rewriting (all of hypothesis and
#: schemathesis), recompiled where bytecode is not cached: ~2 s. No unraisableexception plugin: its five
#: garbage collections at exit (~0.2 s) look for exceptions in __del__ that nobody would see here.
SUITE_PYTEST_ARGS = ("--disable-plugin-autoload", "-p", "rc_e2e_conformance.pytest_plugin.plugin",
                     "-p", "schemathesis.pytest.plugin", "-p", "no:cacheprovider", "-p", "no:unraisableexception")
#: What `run` adds without --pytest-output: pytest quiet, so that the Progress lines are the output.
QUIET_PYTEST_ARGS = ("-qq", "--tb=no", "-rN", "--no-header", "--no-summary", "-o", "console_output_style=classic")

_RUN_EPILOG = """\
examples:
  rc-conformance run                                    # the embedded reference server (proves the suite only)
  RCC_ADMIN_USER_ID=… RCC_ADMIN_TOKEN=… rc-conformance run --url https://chat.example.com
  rc-conformance run --url https://chat.example.com --requirement TFA-01 --seed 42 --junit junit.xml
  rc-conformance run --refserver-profile 6 --examples 20

exit codes:
  0  conformant: every judged requirement passed (or is a listed deviation / SHOULD warning)
  1  non-conformant: a MUST requirement failed (a SHOULD one too with --strict)
  2  could not judge: bad option or configuration, unreachable server, TLS or credential
     problems, setup error, interrupted run (one line on stderr says why)

Every option can also be set by its RCC_* environment variable (shown with each option) or
in conformance.toml (see conformance.example.toml). Secrets (RCC_ADMIN_PASSWORD,
RCC_ADMIN_TOTP_SECRET, RCC_ADMIN_TOKEN) belong in the environment. Reports: report.json,
report.md, report.html and junit.xml in --report-dir; with GITHUB_STEP_SUMMARY set, the
Markdown report is appended to the job summary.
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a mistyped value must not bury its message under the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_ERROR)


def _parser() -> argparse.ArgumentParser:
    from rc_e2e_conformance.contract.config import RUN
    from rc_e2e_conformance.contract.options import add_arguments
    from rc_e2e_conformance.server import cleanup  # owns the `cleanup` subcommand

    from . import mutation  # owns the `mutants` subcommand

    parser = Parser(prog="rc-conformance", description=(
        "Contract conformance suite for Rocket.Chat's POST /api/v1/users.resetE2EKey. "
        "Exit codes: 0 conformant, 1 non-conformant, 2 could not judge."))
    parser.add_argument("--version", action="version", version=f"%(prog)s {rc_e2e_conformance.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the suite against a server (default: the embedded reference server)",
                         description="Run the conformance suite against --url (or, without one, against the "
                                     "embedded reference server) and write the reports.",
                         epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(run, RUN)
    run.add_argument("--pytest-output", action="store_true",
                     help="show pytest's own output (tracebacks) instead of one line per requirement")
    run.set_defaults(func=cmd_run)

    cmp = sub.add_parser("compare", help="compatibility matrix of several report.json files")
    cmp.add_argument("reports", nargs="+", metavar="REPORT_JSON")
    cmp.add_argument("--out", metavar="DIR",
                     help="write compare.md and compare.html here (default: Markdown on stdout)")
    cmp.add_argument("--label", action="append", default=[], help="column label per report, in order")
    cmp.set_defaults(func=cmd_compare)
    mutation.add_parser(sub)
    cleanup.add_parser(sub)
    sub.choices["cleanup"].set_defaults(func=cleanup.cmd_cleanup)
    return parser


def target_slug(url: str | None, mutant: str | None = None, profile: str = NEWEST) -> str:
    """`embedded` (`embedded-profile-6`, `embedded-<mutant>`) or e.g. `rc-example-com-3000` for https://rc.example.com:3000/."""
    if not url:
        parts = ["embedded"] + ([f"profile-{profile}"] if profile != NEWEST else []) + ([mutant] if mutant else [])
        return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)
    split = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{split.netloc.rsplit('@', 1)[-1]}{split.path}".lower()).strip("-")
    return slug or "target"


def _fail(message: str) -> int:
    print(f"rc-conformance: {redact(message)}", file=sys.stderr)
    return EXIT_ERROR


def _settings(args: argparse.Namespace) -> Settings:
    from rc_e2e_conformance.contract.config import load_settings
    from rc_e2e_conformance.contract.options import values
    from rc_e2e_conformance.server.targets import check_embedded

    settings = load_settings(values(args))
    check_embedded(settings)
    report_dir = settings.report_dir or str(Path("reports") / target_slug(
        settings.url, settings.refserver_mutant, settings.refserver_profile))
    # A seed chosen now can be printed on the first line, and reproduces the run.
    seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**32)
    return dataclasses.replace(settings, report_dir=report_dir, seed=seed)


def first_line_of_run(settings: Settings) -> str:
    """What the run is about to check, printed before anything slow starts."""
    if settings.embedded:
        mutant = settings.refserver_mutant
        what = "the embedded reference server (NOT Rocket.Chat)" + (f" as mutant {mutant}" if mutant else "")
        profile = f"profile {settings.refserver_profile}.x"
    else:
        what = settings.url or ""
        profile = (f"profile of version {settings.server_version} (--server-version)" if settings.server_version
                   else "profile from the server's version (GET /api/info)")
    return redact(f"rc-conformance: checking {what} — seed {settings.seed}, {profile}, "
                  f"reports in {settings.report_dir}")


def _why_error(report: dict[str, Any]) -> str:
    if report["harness_error"]:
        return report["harness_error"]
    errors = [r for r in report["requirements"] if r["status"] == "error"]
    causes = Counter(t["message"].splitlines()[0].removeprefix("setup: ") for r in errors
                     for t in r["tests"] if t["outcome"] == "error" and t["message"])
    if causes:
        return f"{len(errors)} requirement(s) ended in error, mostly: {causes.most_common(1)[0][0]}"
    return report["verdict_reason"]


def hypothesis_storage() -> str:
    """Where hypothesis keeps its caches during a run: one directory per user, not ./.hypothesis.

    Its Unicode table (~1 s to build) would otherwise be rebuilt, and left behind, in every new working
    directory. The suite stores no examples (its example database is off), so sharing is safe.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or str(Path(cache) / "rc-conformance" / "hypothesis")


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from rc_e2e_conformance.contract.expectations import load_expectations
    from rc_e2e_conformance.pytest_plugin.stash import Handoff, lookup
    from rc_e2e_conformance.report.ci import append_step_summary, write_interrupted_report
    from rc_e2e_conformance.report.progress import Progress
    from rc_e2e_conformance.report.render import summary_line

    try:  # judge the configuration before pytest starts, so a mistake is one line, not a traceback
        settings = _settings(args)
        load_expectations(settings.expectations)
    except HarnessError as exc:
        return _fail(f"configuration error: {exc}")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = hypothesis_storage()
    stdout = sys.stdout
    progress = Progress(stdout, quiet=settings.quiet, compact=not args.pytest_output, lookup=lookup)
    captured = io.StringIO()
    # Unless --pytest-output, pytest's own output (usage errors, INTERNALERROR tracebacks) is kept out of the
    # terminal; the Progress plugin writes to the real stdout instead.
    out, err = (stdout, sys.stderr) if args.pytest_output else (captured, captured)
    pytest_args = [str(SUITE_DIR), *SUITE_PYTEST_ARGS, *([] if args.pytest_output else QUIET_PYTEST_ARGS)]
    try:
        if not settings.quiet:
            print(first_line_of_run(settings), file=stdout, flush=True)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = pytest.main(pytest_args, plugins=[progress, Handoff(settings)])
    except KeyboardInterrupt:  # landed outside pytest's own handling (start-up, configure, the report itself)
        code = pytest.ExitCode.INTERRUPTED
    report = progress.report
    if report is None and code == pytest.ExitCode.INTERRUPTED:
        report, progress.paths = write_interrupted_report(settings)
    if report is None:
        lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
        detail = progress.internal_error or (lines[-1].strip() if lines else f"pytest exited with code {int(code)}")
        return _fail(f"could not judge: {detail}")
    if not args.pytest_output:  # with pytest's output, the collector has printed it already
        print(summary_line(report, progress.paths), file=stdout)
    append_step_summary(progress.paths)
    if progress.write_error:
        return _fail(progress.write_error)
    if report["verdict"] == "error":
        return _fail(f"could not judge: {_why_error(report)}")
    return EXIT_BY_VERDICT[report["verdict"]]


def cmd_compare(args: argparse.Namespace) -> int:
    from rc_e2e_conformance.report.compare import build_matrix, load_report, render_compare_md, write_compare

    try:
        reports = [load_report(p) for p in args.reports]
        matrix = build_matrix(reports, labels=args.label or None)
    except HarnessError as exc:
        return _fail(str(exc))
    if args.out:
        print("\n".join(map(str, write_compare(matrix, args.out))))
    else:
        sys.stdout.write(render_compare_md(matrix))
    return EXIT_PASS


def _interrupted_early(args: argparse.Namespace | None) -> int:
    """Ctrl-C before pytest started (imports, configuration): still a report, when the settings allow one."""
    if args is not None and args.command == "run":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the report takes milliseconds: let it finish
        with contextlib.suppress(HarnessError, OSError, KeyboardInterrupt):
            from rc_e2e_conformance.report.ci import INTERRUPTED, write_interrupted_report

            _, paths = write_interrupted_report(_settings(args))
            return _fail(f"could not judge: {INTERRUPTED} — reports: {', '.join(str(p) for p in paths)}")
    return _fail("interrupted (before the run started: no report written)")


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        args = _parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        return _interrupted_early(args)
    except BrokenPipeError:  # stdout closed early (`| head`): nothing left to tell anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except HarnessError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 — last line of defence: one redacted line, never a traceback
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
