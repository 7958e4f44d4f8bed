"""The run's one frozen configuration: defaults < TOML file < RCC_* env vars < command-line options."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from .catalogue import by_id
from .errors import ConfigError
from .redact import MASK, register_secret
from .releases import PROFILES

DEFAULT_CONFIG_FILE = "conformance.toml"
SECRET_FIELDS = ("admin_password", "admin_totp_secret", "admin_token")


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; built only by `load_settings`."""

    url: str | None = None  # None = start the embedded reference server
    admin_user: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    admin_totp_secret: str | None = field(default=None, repr=False)
    admin_user_id: str | None = None  # with admin_token: a personal access token instead of a password
    admin_token: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    ca_bundle: str | None = None
    timeout: float = 10.0  # seconds, per request
    deadline: float | None = None  # seconds for the whole run
    allow_config_changes: bool = False
    allow_rate_limit_probe: bool = False
    examples: int = 50
    seed: int | None = None
    report_dir: str | None = None
    expectations: str | None = None
    strict: bool = False
    requirements: tuple[str, ...] = ()
    declare_2fa_off: bool = False  # the user states 2FA is off on the target: TFA-* not judged, run may pass
    server_version: str | None = None  # overrides the version read from /api/info (selects the profile)
    quiet: bool = False
    refserver_profile: str = "8"
    refserver_mutant: str | None = None
    config_file: str | None = None  # the TOML file actually read, for the report

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


# Env var -> field. Secrets are read from here (or `${VAR}` in the TOML) and nowhere else.
ENV_VARS: dict[str, str] = {
    "RCC_URL": "url",
    "RCC_ADMIN_USER": "admin_user",
    "RCC_ADMIN_PASSWORD": "admin_password",
    "RCC_ADMIN_TOTP_SECRET": "admin_totp_secret",
    "RCC_VERIFY_TLS": "verify_tls",
    "RCC_CA_BUNDLE": "ca_bundle",
    "RCC_TIMEOUT": "timeout",
    "RCC_DEADLINE": "deadline",
    "RCC_ALLOW_CONFIG_CHANGES": "allow_config_changes",
    "RCC_ALLOW_RATE_LIMIT_PROBE": "allow_rate_limit_probe",
    "RCC_EXAMPLES": "examples",
    "RCC_SEED": "seed",
    "RCC_REPORT_DIR": "report_dir",
    "RCC_EXPECTATIONS": "expectations",
    "RCC_STRICT": "strict",
    "RCC_ADMIN_USER_ID": "admin_user_id",
    "RCC_ADMIN_TOKEN": "admin_token",
    "RCC_DECLARE_2FA_OFF": "declare_2fa_off",
    "RCC_SERVER_VERSION": "server_version",
}

_FIELDS = {f.name: f for f in fields(Settings)}
_TYPES = {  # the annotations are strings (postponed evaluation), so keep the parse rule here
    "verify_tls": bool, "allow_config_changes": bool, "allow_rate_limit_probe": bool,
    "strict": bool, "quiet": bool, "declare_2fa_off": bool, "timeout": float, "deadline": float, "examples": int, "seed": int,
}
_VAR_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Turn a raw value (str from env/CLI, native from TOML) into the field's type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return () if name == "requirements" else None  # empty means "not set"
    kind = _TYPES.get(name)
    if name == "url":
        return str(value).strip().rstrip("/")
    if name == "requirements":
        if not isinstance(value, (str, list, tuple)):
            raise ConfigError(f"{origin}: requirements must be a list of IDs or a comma-separated string")
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(dict.fromkeys(str(i).strip().upper() for i in items if str(i).strip()))
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{origin}: {name} must be true or false, got {value!r}")
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{origin}: {name} must be a number, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be a number, got {value!r}") from None
    return str(value).strip()


def _read_toml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    out: dict[str, Any] = {}
    for key, raw in data.items():
        name = key.replace("-", "_")
        if name not in _FIELDS or name == "config_file":
            raise ConfigError(f"config file {path}: unknown key {key!r}")
        match = _VAR_RE.match(raw) if isinstance(raw, str) else None
        if match:
            var = match.group(1)
            if var not in env:
                raise ConfigError(f"config file {path}: {key} refers to ${{{var}}}, which is not set")
            raw = env[var]
        elif name in SECRET_FIELDS and raw not in (None, ""):
            # Never log the value: the whole point is that it should not be in a file.
            raise ConfigError(f"config file {path}: {key} must not be written literally; "
                              f"use {key} = \"${{VAR}}\" or env RCC_{name.upper()}")
        out[name] = _coerce(name, raw, f"config file {path}")
    return out


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                  config_path: str | None = None) -> Settings:
    """Build the Settings. `cli` maps field names to option values (None = option not given)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = Path(config_path) if config_path else Path(DEFAULT_CONFIG_FILE)
    if config_path and not path.is_file():
        raise ConfigError(f"config file {config_path} does not exist")
    if path.is_file():
        values.update(_read_toml(path, env))
        values["config_file"] = str(path)
    for var, name in ENV_VARS.items():
        if var in env:
            values[name] = _coerce(name, env[var], f"env {var}")
    for name, raw in (cli or {}).items():
        if name not in _FIELDS or name == "config_file":
            raise ConfigError(f"unknown option {name!r}")
        if raw is None or (name == "requirements" and not raw):
            continue  # not given on the command line: keep the lower layers
        values[name] = _coerce(name, raw, f"option --{name.replace('_', '-')}")
    settings = Settings(**{k: v for k, v in values.items()
                           if not (v is None and _FIELDS[k].default is not MISSING
                                   and _FIELDS[k].default is not None)})
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
        has_token = bool(s.admin_user_id and s.admin_token)
        if bool(s.admin_user_id) != bool(s.admin_token):
            raise ConfigError("a personal access token needs both RCC_ADMIN_USER_ID and RCC_ADMIN_TOKEN")
        if not has_token and not (s.admin_user and s.admin_password):
            raise ConfigError("a target URL needs admin credentials: a personal access token "
                              "(RCC_ADMIN_USER_ID + RCC_ADMIN_TOKEN, recommended) or RCC_ADMIN_USER + "
                              "RCC_ADMIN_PASSWORD (or --admin-user / --admin-password)")
        if s.refserver_mutant:
            raise ConfigError("--refserver-mutant only applies to the embedded reference server (no URL)")
    if s.timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {s.timeout}")
    if s.deadline is not None and s.deadline <= 0:
        raise ConfigError(f"deadline must be > 0 seconds, got {s.deadline}")
    if s.examples < 1:
        raise ConfigError(f"examples must be >= 1, got {s.examples}")
    if s.url is None and s.refserver_mutant:
        from refserver.mutants import MUTANTS  # only for the embedded target, which needs refserver anyway

        if s.refserver_mutant not in MUTANTS:
            raise ConfigError(f"unknown refserver mutant {s.refserver_mutant!r}; known: {', '.join(sorted(MUTANTS))}")
    if s.refserver_profile not in PROFILES:
        raise ConfigError(f"refserver profile must be one of {', '.join(PROFILES)}, got {s.refserver_profile!r}")
    if s.ca_bundle and not Path(s.ca_bundle).is_file():
        raise ConfigError(f"CA bundle {s.ca_bundle} does not exist")
    known = by_id()
    unknown = [r for r in s.requirements if r not in known]
    if unknown:
        raise ConfigError(f"unknown requirement ID(s): {', '.join(unknown)} (see openapi/requirements.yaml)")
