"""`rc-conformance run|compare`: run the suite in-process and exit 0/1/2; compare reports across servers."""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

import conformance

from .cliopts import add_connection_options
from .errors import HarnessError
from .redact import redact, register_secret

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
EXIT_BY_VERDICT = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "error": EXIT_ERROR}
TESTS_DIR = Path(conformance.__file__).resolve().parent.parent / "tests"
#: How the suite's own pytest runs start (the CLI's and the mutant runs'):
#: - only the plugin the suite needs: auto-loading every installed pytest plugin also marks each
#:   one's whole distribution for assertion rewriting (all of hypothesis and schemathesis),
#:   recompiled on every run where bytecode is not cached (PYTHONDONTWRITEBYTECODE, read-only
#:   site-packages): ~2 s;
#: - no unraisableexception plugin: it only turns exceptions in __del__ into warnings nobody sees
#:   here, and runs five full garbage collections at exit to find them: ~0.15-0.3 s.
SUITE_PYTEST_ARGS = ("--disable-plugin-autoload", "-p", "schemathesis.pytest.plugin", "-p", "no:cacheprovider",
                     "-p", "no:unraisableexception")

#: CLI option → (Settings field, pytest option of conformance.plugin). Only given options are passed
#: on, so the config file and RCC_* variables still apply underneath them.
_VALUE_OPTIONS = {
    "url": "--target-url", "admin_user": "--admin-user", "admin_password": "--admin-password",
    "admin_totp_secret": "--admin-totp-secret", "config": "--config", "ca_bundle": "--ca-bundle",
    "timeout": "--timeout", "deadline": "--deadline", "examples": "--examples", "seed": "--seed",
    "expectations": "--expectations", "refserver_profile": "--refserver-profile",
    "refserver_mutant": "--refserver-mutant",
}
_FLAG_OPTIONS = {"strict": "--strict", "allow_config_changes": "--allow-config-changes",
                 "allow_rate_limit_probe": "--allow-rate-limit-probe", "insecure": "--insecure"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rc-conformance", description=(
        "Contract conformance suite for Rocket.Chat's POST /api/v1/users.resetE2EKey. "
        "Exit codes: 0 conformant, 1 non-conformant, 2 could not judge."))
    parser.add_argument("--version", action="version", version=f"%(prog)s {conformance.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the suite against a server (default: the embedded reference server)")
    run.add_argument("--url", help="base URL of the Rocket.Chat server (omit: embedded reference server)")
    add_connection_options(run)
    run.add_argument("--report-dir", help="where to write the reports (default reports/<target-slug>/)")
    run.add_argument("--examples", type=int, help="generated cases per property test (default 50)")
    run.add_argument("--seed", type=int, help="seed for generated tests, to reproduce a run")
    run.add_argument("--expectations", metavar="FILE", help="known deviations file (.toml or .yaml)")
    run.add_argument("--strict", action="store_true", default=None, help="SHOULD failures fail the run")
    run.add_argument("--allow-config-changes", action="store_true", default=None,
                     help="allow tests that change server settings/permissions (restored afterwards)")
    run.add_argument("--allow-rate-limit-probe", action="store_true", default=None,
                     help="allow RATE-01, which uses up the caller's rate-limit window")
    run.add_argument("--requirement", action="append", metavar="ID", default=[],
                     help="run only this requirement (repeatable)")
    run.add_argument("--refserver-profile", choices=("7", "6"),
                     help="embedded target only: behave like Rocket.Chat 7.x (default) or <= 6.x")
    run.add_argument("--refserver-mutant", metavar="NAME",
                     help="embedded target only: run against this deliberately broken variant (names in refserver/mutants.py)")
    run.add_argument("--quiet", action="store_true", help="print only the verdict line")
    run.add_argument("--deadline", type=float, help="overall time budget of the run in seconds (env RCC_DEADLINE)")
    run.add_argument("--pytest-output", action="store_true",
                     help="show pytest's own output (tracebacks) instead of one line per requirement")

    cmp = sub.add_parser("compare", help="compatibility matrix of several report.json files")
    cmp.add_argument("reports", nargs="+", metavar="REPORT_JSON")
    cmp.add_argument("--out", metavar="DIR", help="write compare.md and compare.html here (default: Markdown on stdout)")
    cmp.add_argument("--label", action="append", default=[], help="column label per report, in order")

    from .mutation import add_parser as add_mutants_parser  # `mutants` is owned by conformance/mutation.py
    add_mutants_parser(sub)
    from .cleanup import add_parser as add_cleanup_parser  # `cleanup` is owned by conformance/cleanup.py
    add_cleanup_parser(sub)
    return parser


def target_slug(url: str | None, mutant: str | None = None, profile: str = "7") -> str:
    """`embedded` or e.g. `rc-example-com-3000` for https://rc.example.com:3000/."""
    if not url:
        parts = ["embedded"] + ([f"profile-{profile}"] if profile != "7" else []) + ([mutant] if mutant else [])
        return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)
    split = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{split.netloc.rsplit('@', 1)[-1]}{split.path}".lower()).strip("-")
    return slug or "target"


def _fail(message: str) -> int:
    print(f"rc-conformance: {redact(message)}", file=sys.stderr)
    return EXIT_ERROR


def _pytest_args(args: argparse.Namespace, report_dir: str) -> list[str]:
    out = [str(TESTS_DIR), *SUITE_PYTEST_ARGS, "--report-dir", report_dir]
    if not args.pytest_output:
        out += ["-qq", "--tb=no", "-rN", "--no-header", "--no-summary", "-o", "console_output_style=classic"]
    for name, option in _VALUE_OPTIONS.items():
        value = getattr(args, name)
        if value is not None:
            out += [option, str(value)]
    for name, option in _FLAG_OPTIONS.items():
        if getattr(args, name):
            out.append(option)
    for rid in args.requirement:
        out += ["--requirement", rid]
    return out


def _settings(args: argparse.Namespace) -> Any:
    from .config import load_settings

    cli = {"url": args.url, "admin_user": args.admin_user, "admin_password": args.admin_password,
           "admin_totp_secret": args.admin_totp_secret, "ca_bundle": args.ca_bundle, "timeout": args.timeout,
           "deadline": args.deadline, "examples": args.examples, "seed": args.seed, "report_dir": args.report_dir,
           "expectations": args.expectations, "strict": args.strict,
           "allow_config_changes": args.allow_config_changes,
           "allow_rate_limit_probe": args.allow_rate_limit_probe,
           "verify_tls": False if args.insecure else None, "requirements": tuple(args.requirement),
           "quiet": args.quiet or None, "refserver_profile": args.refserver_profile,
           "refserver_mutant": args.refserver_mutant}
    return load_settings(cli, config_path=args.config)


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

    hypothesis builds a Unicode table on first use (~1 s and ~200 MB) and caches it in its storage
    directory, by default `.hypothesis/` in the working directory: every run started in a new
    directory would rebuild it (and leave the directory behind). The suite stores no examples there
    (its example database is off), so a shared per-user cache is safe. HYPOTHESIS_STORAGE_DIRECTORY
    still wins when set.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or str(Path(cache) / "rc-conformance" / "hypothesis")


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from .expectations import load_expectations
    from .report.progress import Progress
    from .report.render import summary_line

    for secret in (args.admin_password, args.admin_totp_secret):
        register_secret(secret)
    try:  # judge the configuration before pytest starts, so a mistake is one line, not a traceback
        settings = _settings(args)
        load_expectations(settings.expectations)
    except HarnessError as exc:
        return _fail(f"configuration error: {exc}")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = hypothesis_storage()
    report_dir = settings.report_dir or str(Path("reports") / target_slug(
        settings.url, settings.refserver_mutant, settings.refserver_profile))
    stdout = sys.stdout
    progress = Progress(stdout, quiet=bool(settings.quiet), compact=not args.pytest_output)
    captured = io.StringIO()
    pytest_args = _pytest_args(args, report_dir)
    if args.pytest_output:
        code = pytest.main(pytest_args, plugins=[progress])
    else:
        # pytest's own output (usage errors, INTERNALERROR tracebacks) is kept out of the terminal;
        # the Progress plugin writes to the real stdout instead.
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            code = pytest.main(pytest_args, plugins=[progress])
    report = progress.report
    if report is None:
        lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
        detail = progress.internal_error or (lines[-1].strip() if lines else f"pytest exited with code {int(code)}")
        return _fail(f"could not judge: {detail}")
    if not args.pytest_output:  # with pytest's output, the collector has printed it already
        print(summary_line(report, progress.paths), file=stdout)
    if progress.write_error:
        return _fail(progress.write_error)
    verdict = report["verdict"]
    if verdict == "error":
        return _fail(f"could not judge: {_why_error(report)}")
    return EXIT_BY_VERDICT[verdict]


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import build_matrix, load_report, render_compare_md, write_compare

    try:
        reports = [load_report(p) for p in args.reports]
        matrix = build_matrix(reports, labels=args.label or None)
    except HarnessError as exc:
        return _fail(str(exc))
    if args.out:
        for path in write_compare(matrix, args.out):
            print(path)
    else:
        sys.stdout.write(render_compare_md(matrix))
    return EXIT_PASS


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "cleanup":
            from .cleanup import cmd_cleanup
            return cmd_cleanup(args)
        if args.command == "mutants":
            from .mutation import cmd_mutants
            return cmd_mutants(args)
        return cmd_compare(args)
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:  # stdout closed early (`| head`): nothing left to tell anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except HarnessError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 — last line of defence: one redacted line, never a traceback
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
