"""Mutation testing of the suite: run it against the faithful reference server and every mutant, in parallel.

Each run is the real suite in its own pytest process (`--rcc-refserver-mutant NAME --rcc-strict`), so one
mutant's crash or stray state cannot leak into another's. `--rcc-strict` is deliberate: a SHOULD
requirement then ends in *fail* rather than *warn*, so "killed" always means "its tests failed".
A mutant is KILLED when every requirement it names ends in *fail*; *error* (the harness could not
judge) never counts. The property tests (SCHEMA-*) are the costly part: a mutant that names no
SCHEMA-* requirement runs without the property modules (suite/test_properties.py and its
verdicts), so its SCHEMA-* cells read *skip*.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from rc_e2e_conformance.contract.catalogue import load_catalogue
from rc_e2e_conformance.contract.errors import ConfigError
from rc_e2e_conformance.contract.releases import NEWEST, PROFILES
from rc_e2e_conformance.contract.resources import SUITE_DIR
from rc_e2e_conformance.report.render import render_template
from rc_e2e_conformance.report.write import write_file

from .main import SUITE_PYTEST_ARGS, hypothesis_storage

PROPERTY_TESTS = (SUITE_DIR / "test_properties.py", SUITE_DIR / "test_verdicts_of_generated_requests.py")
FAITHFUL = "(faithful)"
DEFAULT_EXAMPLES = 10
DEFAULT_SEED = 20240501
RUN_TIMEOUT_S = 600.0
#: Verdicts of one mutant: killed (every named requirement failed), survived (none of the suite
#: failed), killed-elsewhere (other requirements failed, not all named ones), error (could not judge).
KILLED, SURVIVED, ELSEWHERE, ERROR = "killed", "survived", "killed-elsewhere", "error"


@dataclass
class Run:
    """One suite run: the faithful server (mutant None) or one mutant."""

    mutant: str | None
    intended: tuple[str, ...] = ()
    defect: str = ""
    switch: dict[str, Any] = field(default_factory=dict)
    properties: bool = True
    focused: bool = False  # run only the tests of the named requirements (the selftest's lean mode)
    profile: str = NEWEST  # the reference server's release profile
    statuses: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    verdict: str = "error"
    duration_s: float = 0.0
    problem: str = ""  # why the run itself could not be judged (no report, timeout)

    @property
    def label(self) -> str:
        return self.mutant or FAITHFUL

    @property
    def failed(self) -> list[str]:
        return [rid for rid, s in self.statuses.items() if s == "fail"]

    @property
    def outcome(self) -> str:
        if self.problem:
            return ERROR
        if self.intended and all(self.statuses.get(r) == "fail" for r in self.intended):
            return KILLED
        if any(self.statuses.get(r) == "error" for r in self.intended):
            return ERROR
        return ELSEWHERE if self.failed else SURVIVED

    @property
    def unintended_failures(self) -> list[str]:
        return [r for r in self.failed if r not in self.intended]


def plan(names: Sequence[str] = (), all_tests: bool = False, focused: bool = False,
         profile: str = NEWEST) -> list[Run]:
    """The faithful run first, then the selected mutants (all when `names` is empty) whose defect exists on
    `profile`'s release line, in catalogue order. `focused`: each mutant runs only its named requirements' tests
    (`--rcc-requirement`), which proves the kill but leaves the other cells *skip*; the faithful run is always
    the whole suite.
    """
    # This tool is about the reference server itself (the suite it runs knows nothing of mutants): lazily, as
    # ARCHITECTURE.md allows.
    from rc_e2e_conformance.refserver.mutants import MUTANTS as catalogue

    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise ConfigError(f"unknown mutant(s) {', '.join(unknown)}; known: {', '.join(catalogue)}")
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    runs = [Run(None, profile=profile)]
    for name, m in catalogue.items():
        if (names and name not in names) or not m.applies_to(profile):
            continue
        wants_properties = all_tests or any(r.startswith("SCHEMA-") for r in m.requirements)
        switch = {k: list(v) if isinstance(v, tuple) else v for k, v in m.flipped().items()}  # as in the JSON
        runs.append(Run(name, tuple(m.requirements), m.defect, switch, properties=wants_properties, focused=focused,
                        profile=profile))
    return runs


def pytest_command(run: Run, report_dir: Path, examples: int, seed: int) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", str(SUITE_DIR), *SUITE_PYTEST_ARGS, "-q", "--tb=no",
           "--no-header", "-o", "console_output_style=classic", "--rcc-strict",
           "--rcc-report-dir", str(report_dir), "--rcc-examples", str(examples), "--rcc-seed", str(seed),
           "--rcc-refserver-profile", run.profile]
    if run.mutant:
        cmd += ["--rcc-refserver-mutant", run.mutant]
    if not run.properties:
        cmd += [arg for module in PROPERTY_TESTS for arg in ("--ignore", str(module))]
    if run.focused:
        cmd += [arg for rid in run.intended for arg in ("--rcc-requirement", rid)]
    return cmd


def execute(run: Run, workdir: Path, examples: int, seed: int) -> Run:
    """Run the suite for one Run in a subprocess and read its report.json into it."""
    report_dir = workdir / run.label.strip("()")
    report_dir.mkdir(parents=True, exist_ok=True)
    # A user's RCC_* settings (a target URL above all) must not redirect a self-test run, nor (cwd = the run's
    # own directory) their ./conformance.toml; every run shares the CLI's hypothesis cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = hypothesis_storage()
    started = time.monotonic()
    try:
        proc = subprocess.run(pytest_command(run, report_dir, examples, seed), cwd=report_dir, env=env,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.problem = f"timed out after {RUN_TIMEOUT_S:g} s"
        return run
    finally:
        run.duration_s = round(time.monotonic() - started, 2)
    report_path = report_dir / "report.json"
    if not report_path.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        run.problem = f"pytest exited {proc.returncode} without report.json: {' / '.join(tail)}"
        return run
    report = json.loads(report_path.read_text(encoding="utf-8"))
    run.verdict = report["verdict"]
    run.statuses = {r["id"]: r["status"] for r in report["requirements"]}
    run.reasons = {r["id"]: r["reason"] for r in report["requirements"] if r["status"] in ("fail", "error")}
    if report["harness_error"]:
        run.problem = f"harness error: {report['harness_error']}"
    return run


def run_matrix(runs: list[Run], *, examples: int = DEFAULT_EXAMPLES, seed: int = DEFAULT_SEED,
               jobs: int | None = None, workdir: Path | None = None,
               progress: Callable[[Run], None] | None = None) -> dict[str, Any]:
    """Execute every run (`jobs` at a time) and return the mutation result as a JSON-ready dict."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rcc-mutation-") as tmp:
        base = workdir or Path(tmp)
        # Longest first (the property runs), so the pool does not end on one straggler.
        order = sorted(runs, key=lambda r: (not r.properties, r.mutant is not None))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for done in pool.map(execute, order, repeat(base), repeat(examples), repeat(seed)):
                if progress is not None:
                    progress(done)
    return summarise(runs, examples=examples, seed=seed, jobs=jobs, wall_s=time.monotonic() - started)


def summarise(runs: list[Run], *, examples: int, seed: int, jobs: int, wall_s: float) -> dict[str, Any]:
    faithful = next(r for r in runs if r.mutant is None)
    mutants = [r for r in runs if r.mutant is not None]
    killed = sum(1 for r in mutants if r.outcome == KILLED)
    return {
        "examples": examples, "seed": seed, "strict": True, "jobs": jobs, "wall_s": round(wall_s, 1),
        "profile": faithful.profile,
        "focused": any(r.focused for r in mutants),
        "requirements": [req.id for req in load_catalogue()],
        "faithful": {"verdict": faithful.verdict, "passed": faithful.verdict == "pass" and not faithful.problem,
                     "problem": faithful.problem, "duration_s": faithful.duration_s, "statuses": faithful.statuses,
                     "reasons": faithful.reasons},
        "score": {"killed": killed, "total": len(mutants),
                  "percent": round(100.0 * killed / len(mutants), 1) if mutants else 0.0},
        "mutants": [{**{k: v for k, v in asdict(r).items() if k != "intended"}, "name": r.mutant,
                     "intended": list(r.intended), "outcome": r.outcome,
                     "unintended_failures": r.unintended_failures} for r in mutants],
        "survivors": [r.mutant for r in mutants if r.outcome == SURVIVED],
        "killed_elsewhere": [r.mutant for r in mutants if r.outcome == ELSEWHERE],
        "errors": [r.mutant for r in mutants if r.outcome == ERROR],
    }


SYMBOLS = {"pass": "·", "fail": "F", "error": "E", "warn": "W", "skip": "-", "xfail": "x", "xpass": "X"}


def render_markdown(result: dict[str, Any]) -> str:
    def cell(mutant: dict[str, Any], rid: str) -> str:
        sym = SYMBOLS.get(mutant["statuses"].get(rid, ""), "?")
        return f"**[{sym}]**" if rid in mutant["intended"] else sym

    return render_template("mutation.md.j2", False, result=result, cell=cell, symbols=SYMBOLS)


def write_outputs(result: dict[str, Any], out: Path) -> list[Path]:
    return [write_file(out / "mutation.md", render_markdown(result)),
            write_file(out / "mutation.json", json.dumps(result, indent=2) + "\n")]


def passed(result: dict[str, Any]) -> bool:
    """The suite is proven: the faithful server passes and every mutant is killed by what it names."""
    return bool(result["faithful"]["passed"]) and result["score"]["killed"] == result["score"]["total"]


def cmd_mutants(args: Any) -> int:
    """`rc-conformance mutants`: exit 0 when proven, 1 when a mutant survives or the faithful run fails."""
    runs = plan(args.mutant, all_tests=args.all_tests, focused=args.focused, profile=args.profile)

    def progress(run: Run) -> None:
        what = run.verdict if run.mutant is None else run.outcome
        print(f"  {run.label:<32} {what:<17} {run.duration_s:6.1f} s", flush=True)

    print(f"mutation: profile {args.profile}.x, {len(runs) - 1} mutant(s) + the faithful server, "
          f"{args.examples} example(s), seed {args.seed}", flush=True)
    result = run_matrix(runs, examples=args.examples, seed=args.seed, jobs=args.jobs, progress=progress)
    paths = write_outputs(result, Path(args.out))
    score = result["score"]
    print(f"mutation score {score['percent']:g} % ({score['killed']}/{score['total']} killed), faithful "
          f"{'PASS' if result['faithful']['passed'] else 'NOT PASSING'}, {result['wall_s']:g} s — "
          f"{', '.join(map(str, paths))}", flush=True)
    return 0 if passed(result) else 1


def add_parser(sub: Any) -> None:
    """The `rc-conformance mutants` subcommand (registered by cli/main.py)."""
    p = sub.add_parser("mutants", help="mutation test of the suite: faithful reference server + every mutant",
                       description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                   help=f"property-test examples per run (default {DEFAULT_EXAMPLES})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"property-test seed (default {DEFAULT_SEED})")
    p.add_argument("--jobs", type=int, default=None, help="runs in parallel (default: number of cores)")
    p.add_argument("--profile", default=NEWEST, choices=PROFILES,
                   help=f"release profile of the reference server (default {NEWEST}); "
                        "only mutants that exist there run")
    p.add_argument("--mutant", action="append", default=[], metavar="NAME", help="run only this mutant (repeatable)")
    p.add_argument("--out", default="reports", metavar="DIR", help="where mutation.md/.json go (default reports/)")
    p.add_argument("--all-tests", action="store_true",
                   help="run the property tests for every mutant, not only for those naming SCHEMA-*")
    p.add_argument("--focused", action="store_true",
                   help="run only each mutant's named requirements (other matrix cells read skip)")
    p.set_defaults(func=cmd_mutants)

