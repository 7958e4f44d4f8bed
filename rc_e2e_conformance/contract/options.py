"""Command-line flags, pytest options and conformance.example.toml, all generated from the Settings table."""
from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from typing import Any

from .config import CLEANUP, PYTEST, RUN, SECRET_FIELDS, Option, options


def _help(o: Option, command: str) -> str:
    text = o.opt.cleanup_help if command == CLEANUP and o.opt.cleanup_help else o.opt.help
    if o.env:
        text += f" (env {o.env}=false)" if o.opt.invert else (
            f" (true/false in env {o.env})" if o.kind is bool else f" (env {o.env})")
    return text.replace("%", "%%")  # argparse formats help with %


def _kwargs(o: Option, flag_dest: str, command: str) -> dict[str, Any]:
    kw: dict[str, Any] = {"dest": flag_dest, "help": _help(o, command)}
    if o.kind is bool:
        # None = "not given": the TOML file and environment stay in force underneath.
        kw.update(action="store_const", const=not o.opt.invert, default=None)
    elif o.opt.repeat:
        kw.update(action="append", default=None, metavar=o.opt.metavar)
    else:
        kw["metavar"] = o.opt.metavar  # values stay strings: load_settings converts them (one error path)
    return kw


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Every table option that exists for `command` (run or cleanup)."""
    for o in options():
        if o.flag and command in o.opt.commands:
            parser.add_argument(o.flag, **_kwargs(o, o.name, command))


def add_pytest_options(group: Any) -> None:
    """The pytest plugin's options: the same table, each flag prefixed --rcc-."""
    for o in options():
        if o.pytest_flag and PYTEST in o.opt.commands:
            group.addoption(o.pytest_flag, **_kwargs(o, f"rcc_{o.name}", PYTEST))


def values(namespace: Mapping[str, Any] | argparse.Namespace, prefix: str = "") -> dict[str, Any]:
    """Field name → given value (None when not given), read back from argparse or pytest options."""
    get = namespace.get if isinstance(namespace, Mapping) else (lambda k, d=None: getattr(namespace, k, d))
    return {o.name: get(prefix + o.name, None) for o in options() if o.flag}


#: Options that only say where output goes: a rerun need not repeat them.
_NOT_REPRODUCED = {"report_dir", "junit", "quiet", "config_file"}


def opt_in(settings: Any) -> tuple[str, ...]:
    """The opt-in flags in force (switches whose value differs from the safe default), as flags."""
    return tuple(o.flag for o in options() if o.kind is bool and o.flag and o.name != "quiet"
                 and getattr(settings, o.name) != o.default)


def reproduce_command(settings: Any) -> str:
    """`rc-conformance run …` that reruns this run: every non-default setting, never a secret (env only)."""
    parts = ["rc-conformance", "run"]
    for o in options():
        value = getattr(settings, o.name)
        if (not o.flag or RUN not in o.opt.commands or o.opt.secret or o.name in _NOT_REPRODUCED
                or value == o.default or value is None):
            continue
        if o.kind is bool:
            parts.append(o.flag)
        elif o.opt.repeat:
            parts += [a for v in value for a in (o.flag, str(v))]
        else:
            parts += [o.flag, shlex.quote(str(value))]
    return " ".join(parts)


def example_toml() -> str:
    """conformance.example.toml, generated from the table (a selftest keeps the file equal to this)."""
    lines = [
        "# Example configuration for the users.resetE2EKey conformance suite (generated from the option",
        "# table in rc_e2e_conformance/contract/config.py: edit it, then",
        "# `python -m rc_e2e_conformance.contract.options > conformance.example.toml`).",
        "# Copy to ./conformance.toml (git-ignored) or pass --config PATH (env RCC_CONFIG).",
        "# Precedence: built-in defaults < this file < RCC_* environment variables < command-line options.",
        f"# Secrets ({', '.join(SECRET_FIELDS)}) may NOT be written here literally: use \"${{VAR}}\" to read",
        "# them from the environment, or set their RCC_* variable directly.",
    ]
    for o in options():
        if not o.opt.toml:
            continue
        where = [f"env {o.env}"] if o.env else []
        if o.flag:
            where += [f"rc-conformance {o.flag}" if RUN in o.opt.commands or CLEANUP in o.opt.commands else "",
                      f"pytest {o.pytest_flag}" if PYTEST in o.opt.commands else ""]
        text = f"{o.flag} sets {o.name} to false: {o.opt.help}" if o.opt.invert else o.opt.help
        lines += ["", f"# {text}", f"# ({'; '.join(w for w in where if w)})",
                  f"# {o.name} = {o.opt.example}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(example_toml())
