"""The run's one frozen configuration and its one option table: defaults < TOML < RCC_* env < command line."""
from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .redact import MASK, register_secret
from .releases import PROFILES

DEFAULT_CONFIG_FILE = "conformance.toml"
RUN, CLEANUP, PYTEST = "run", "cleanup", "pytest"
_BOTH = frozenset({RUN, PYTEST})
_CONNECT = frozenset({RUN, CLEANUP, PYTEST})
#: Prefix of every option the pytest plugin adds (pytest-timeout owns --timeout, pytest 9 --strict).
PYTEST_PREFIX = "--rcc-"


@dataclass(frozen=True)
class Opt:
    """How one Settings field is set: the ONE declaration argparse, pytest, env, TOML and docs read."""

    help: str
    flag: str | None = ""  # long option without "--"; "" = the field name dashed; None = no option
    env: str | None = ""  # "" = RCC_<FIELD>; None = no environment variable
    toml: bool = True  # settable in conformance.toml (by its field name)
    secret: bool = False  # never literal in TOML; masked everywhere
    commands: frozenset[str] = _BOTH  # where the option exists: run, cleanup, pytest
    metavar: str | None = None
    example: str = ""  # TOML value shown (commented out) in conformance.example.toml
    invert: bool = False  # the flag sets the field to False (--insecure → verify_tls = false)
    repeat: bool = False  # the option may be given several times (a list)
    cleanup_help: str = ""  # the help of `rc-conformance cleanup`, where it differs


def _o(help: str, **kw: Any) -> dict[str, Opt]:
    return {"rcc": Opt(help, **kw)}


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; built only by `load_settings`."""

    url: str | None = field(default=None, metadata=_o(
        "base URL of the Rocket.Chat server, without /api/v1 (omit: the embedded reference server, NOT Rocket.Chat)",
        metavar="URL", commands=_CONNECT, example='"https://chat.example.com"',
        cleanup_help="base URL of the Rocket.Chat server to clean up, without /api/v1; required"))
    admin_user: str | None = field(default=None, metadata=_o(
        "admin username; the admin only creates and deletes the suite's own users", metavar="NAME",
        commands=_CONNECT, example='"conformance-admin"'))
    admin_password: str | None = field(default=None, repr=False, metadata=_o(
        "admin password (prefer the environment: command lines are visible to other users)", metavar="PW",
        secret=True, commands=_CONNECT, example='"${RCC_ADMIN_PASSWORD}"'))
    admin_totp_secret: str | None = field(default=None, repr=False, metadata=_o(
        "admin TOTP secret (base32), only when the admin has TOTP on", metavar="B32", secret=True,
        commands=_CONNECT, example='"${RCC_ADMIN_TOTP_SECRET}"'))
    admin_user_id: str | None = field(default=None, metadata=_o(
        "admin user id of a personal access token (with RCC_ADMIN_TOKEN; instead of a password)", metavar="ID",
        commands=_CONNECT, example='"aBcDeF123"'))
    admin_token: str | None = field(default=None, repr=False, metadata=_o(
        "admin personal access token (environment or ${VAR} only)", flag=None, secret=True, commands=_CONNECT,
        example='"${RCC_ADMIN_TOKEN}"'))
    verify_tls: bool = field(default=True, metadata=_o(
        "do not verify TLS certificates", flag="insecure", invert=True, commands=_CONNECT, example="true"))
    ca_bundle: str | None = field(default=None, metadata=_o(
        "CA bundle file to verify the target's TLS certificate", metavar="PATH", commands=_CONNECT,
        example='"/etc/ssl/certs/my-ca.pem"'))
    timeout: float = field(default=10.0, metadata=_o(
        "per-request timeout in seconds (default 10)", metavar="S", commands=_CONNECT, example="10"))
    deadline: float | None = field(default=None, metadata=_o(
        "time budget of the whole run in seconds (tests not started by then are errors)", metavar="S",
        example="600"))
    allow_config_changes: bool = field(default=False, metadata=_o(
        "allow tests that change server permissions, restored afterwards (always on for the embedded server)",
        example="false"))
    allow_rate_limit_probe: bool = field(default=False, metadata=_o(
        "allow RATE-01, which uses up the caller's rate-limit window (always on for the embedded server)",
        example="false"))
    examples: int = field(default=50, metadata=_o(
        "generated cases per property test (default 50)", metavar="N", example="50"))
    seed: int | None = field(default=None, metadata=_o(
        "seed of the generated tests, to reproduce a run (default: random, printed)", metavar="N", example="12345"))
    report_dir: str | None = field(default=None, metadata=_o(
        "write report.json/.md/.html and junit.xml here (CLI default: reports/<target>/)", metavar="DIR",
        example='"reports/latest"'))
    junit: str | None = field(default=None, metadata=_o(
        "also write the JUnit XML to this file (one test case per requirement)", metavar="PATH",
        example='"junit-rc-conformance.xml"'))
    expectations: str | None = field(default=None, metadata=_o(
        "known deviations file (.toml or .yaml): listed failures become xfail", metavar="FILE",
        example='"expectations.toml"'))
    strict: bool = field(default=False, metadata=_o(
        "SHOULD failures fail the run (default: they warn)", example="false"))
    requirements: tuple[str, ...] = field(default=(), metadata=_o(
        "run only the tests of this requirement ID (repeatable; env: comma-separated)", flag="requirement",
        metavar="ID", repeat=True, example='["AUTH-01", "TFA-01"]'))
    declare_2fa_off: bool = field(default=False, metadata=_o(
        "declare that 2FA is off on the target: TFA-* are not judged and the run may still pass",
        example="false"))
    server_version: str | None = field(default=None, metadata=_o(
        "the target's version when /api/info hides it (selects the release profile)", metavar="X.Y.Z",
        example='"8.0.0"'))
    quiet: bool = field(default=False, metadata=_o(
        "print only the verdict line", commands=frozenset({RUN}), example="false"))
    refserver_profile: str = field(default="8", metadata=_o(
        f"embedded server only: release profile to behave like ({'|'.join(PROFILES)}; default 8)",
        metavar="|".join(PROFILES), example='"8"'))
    refserver_mutant: str | None = field(default=None, metadata=_o(
        "embedded server only: run against this deliberately broken variant (refserver/mutants.py)",
        metavar="NAME", example='"any_code_accepted"'))
    config_file: str | None = field(default=None, metadata=_o(
        "TOML config file (default ./conformance.toml when present)", flag="config", env="RCC_CONFIG",
        toml=False, metavar="PATH", commands=_CONNECT))

    @property
    def embedded(self) -> bool:
        return self.url is None

    @property
    def tls_verify(self) -> bool | str:
        """What requests' `verify` gets: False with --insecure, else the CA bundle when set, else True."""
        return (self.ca_bundle or True) if self.verify_tls else False

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict fit for display: secrets replaced by *** (or None when unset)."""
        out = asdict(self)
        for name in SECRET_FIELDS:
            if out[name] is not None:
                out[name] = MASK
        return out


@dataclass(frozen=True)
class Option:
    """One row of the table, resolved: field, its Opt, its value kind and default."""

    name: str
    opt: Opt
    kind: type  # bool, int, float, str or tuple
    default: Any

    @property
    def flag(self) -> str | None:
        return None if self.opt.flag is None else "--" + (self.opt.flag or self.name.replace("_", "-"))

    @property
    def pytest_flag(self) -> str | None:
        return None if self.flag is None else PYTEST_PREFIX + self.flag[2:]

    @property
    def env(self) -> str | None:
        return None if self.opt.env is None else (self.opt.env or f"RCC_{self.name.upper()}")


def _kind(hint: Any) -> type:
    if typing.get_origin(hint) is tuple:
        return tuple
    args = [a for a in typing.get_args(hint) if a is not type(None)]  # `float | None` → float
    return args[0] if args else hint


@lru_cache(maxsize=1)
def options() -> tuple[Option, ...]:
    """The option table, in field order (the order of --help and of conformance.example.toml)."""
    hints = typing.get_type_hints(Settings)
    return tuple(Option(f.name, f.metadata["rcc"], _kind(hints[f.name]),
                        f.default if f.default is not MISSING else None) for f in fields(Settings))


def option(name: str) -> Option:
    return next(o for o in options() if o.name == name)


SECRET_FIELDS = tuple(f.name for f in fields(Settings) if f.metadata["rcc"].secret)
_VAR_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_BOOLS = {**dict.fromkeys(("1", "true", "yes", "on"), True), **dict.fromkeys(("0", "false", "no", "off"), False)}


def coerce(name: str, value: Any, origin: str) -> Any:
    """Turn a raw value (str from env/CLI, native from TOML) into the field's type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return () if name == "requirements" else None  # empty means "not set"
    kind = option(name).kind
    if name == "url":
        return str(value).strip().rstrip("/")
    if kind is tuple:
        if not isinstance(value, (str, list, tuple)):
            raise ConfigError(f"{origin}: {name} must be a list of IDs or a comma-separated string")
        items = value.split(",") if isinstance(value, str) else [i for v in value for i in str(v).split(",")]
        return tuple(dict.fromkeys(str(i).strip().upper() for i in items if str(i).strip()))
    if kind is bool:
        flag = value if isinstance(value, bool) else _BOOLS.get(str(value).strip().lower())
        if flag is None:
            raise ConfigError(f"{origin}: {name} must be true or false, got {value!r}")
        return flag
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{origin}: {name} must be a number, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be {'a whole number' if kind is int else 'a number'}, "
                              f"got {value!r}") from None
    return str(value).strip()


def _read_toml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    keys = {o.name: o for o in options() if o.opt.toml}
    out: dict[str, Any] = {}
    for key, raw in data.items():
        name = key.replace("-", "_")
        if name not in keys:
            raise ConfigError(f"config file {path}: unknown key {key!r}")
        match = _VAR_RE.match(raw) if isinstance(raw, str) else None
        if match:
            var = match.group(1)
            if var not in env:
                raise ConfigError(f"config file {path}: {key} refers to ${{{var}}}, which is not set")
            raw = env[var]
        elif keys[name].opt.secret and raw not in (None, ""):
            # Never log the value: the whole point is that it should not be in a file.
            raise ConfigError(f"config file {path}: {key} must not be written literally; "
                              f"use {key} = \"${{VAR}}\" or env {keys[name].env}")
        out[name] = coerce(name, raw, f"config file {path}")
    return out


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                  config_path: str | None = None) -> Settings:
    """Build the Settings. `cli` maps field names to option values (None = option not given)."""
    env = os.environ if env is None else env
    cli = dict(cli or {})
    config_path = config_path or cli.pop("config_file", None) or env.get("RCC_CONFIG") or None
    values: dict[str, Any] = {}
    path = Path(config_path) if config_path else Path(DEFAULT_CONFIG_FILE)
    if config_path and not path.is_file():
        raise ConfigError(f"config file {config_path} does not exist")
    if path.is_file():
        values.update(_read_toml(path, env))
        values["config_file"] = str(path)
    for o in options():
        if o.env and o.name != "config_file" and o.env in env:
            values[o.name] = coerce(o.name, env[o.env], f"env {o.env}")
    known = {o.name: o for o in options()}
    for name, raw in cli.items():
        if name not in known or name == "config_file":
            raise ConfigError(f"unknown option {name!r}")
        if raw is None or (known[name].kind is tuple and not raw):
            continue  # not given on the command line: keep the lower layers
        values[name] = coerce(name, raw, f"option {known[name].flag or name}")
    settings = Settings(**{k: v for k, v in values.items()
                           if not (v is None and known[k].default is not None)})
    _validate(settings)
    for name in SECRET_FIELDS:
        register_secret(getattr(settings, name))
    if settings.url:  # https://user:password@host: the password must be masked wherever the URL is shown
        register_secret(urlsplit(settings.url).password)
    return settings


def _validate(s: Settings) -> None:
    if s.url is not None:
        if not re.match(r"^https?://[^/\s]+", s.url):
            raise ConfigError(f"target URL must start with http:// or https://, got {s.url!r}")
        if re.search(r"/api(/v1)?$", s.url):
            raise ConfigError(f"target URL {s.url!r} ends in {s.url[s.url.rindex('/api'):]}: give the server's "
                              f"base URL ({s.url[:s.url.rindex('/api')]}); the suite adds /api/v1 itself")
        if bool(s.admin_user_id) != bool(s.admin_token):
            raise ConfigError("a personal access token needs both RCC_ADMIN_USER_ID and RCC_ADMIN_TOKEN")
        if not s.admin_token and not (s.admin_user and s.admin_password):
            raise ConfigError("a target URL needs admin credentials: a personal access token "
                              "(RCC_ADMIN_USER_ID + RCC_ADMIN_TOKEN, recommended) or RCC_ADMIN_USER + "
                              "RCC_ADMIN_PASSWORD (or --admin-user / --admin-password)")
        if s.refserver_mutant:
            raise ConfigError("--refserver-mutant only applies to the embedded reference server (no URL)")
    if s.timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {s.timeout:g}")
    if s.deadline is not None and s.deadline <= 0:
        raise ConfigError(f"deadline must be > 0 seconds, got {s.deadline:g}")
    if s.examples < 1:
        raise ConfigError(f"examples must be >= 1, got {s.examples}")
    # A mutant's name is checked by server.targets.check_embedded (this layer does not import the refserver).
    if s.refserver_profile not in PROFILES:
        raise ConfigError(f"refserver profile must be one of {', '.join(PROFILES)}, got {s.refserver_profile!r}")
    if s.ca_bundle and not Path(s.ca_bundle).is_file():
        raise ConfigError(f"CA bundle {s.ca_bundle} does not exist")
    from .catalogue import by_id  # yaml: imported only when validating, so `--help` and start-up stay light

    known = by_id()
    unknown = [r for r in s.requirements if r not in known]
    if unknown:
        raise ConfigError(f"unknown requirement ID(s): {', '.join(unknown)} (see openapi/requirements.yaml)")
