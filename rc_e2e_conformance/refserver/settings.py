"""Server settings: fresh-install defaults, forced by OVERWRITE_SETTING_<Id> env vars or a dict."""
from __future__ import annotations

import os
from collections.abc import Mapping

# Fresh Rocket.Chat install values (the same on 6.x-8.x) of the settings this subset reads.
DEFAULTS: dict[str, bool | int] = {
    "Accounts_TwoFactorAuthentication_Enabled": True,
    "Accounts_TwoFactorAuthentication_By_TOTP_Enabled": True,
    "Accounts_TwoFactorAuthentication_By_Email_Enabled": True,
    "Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In": True,
    "Accounts_TwoFactorAuthentication_By_Email_Code_Expiration": 3600,
    "Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts": 5,
    "Accounts_TwoFactorAuthentication_Enforce_Password_Fallback": True,
    "Accounts_TwoFactorAuthentication_MaxDelta": 1,
    "Accounts_TwoFactorAuthentication_RememberFor": 1800,
    "API_Enable_Rate_Limiter": True,
    "API_Enable_Rate_Limiter_Limit_Calls_Default": 10,
    "API_Enable_Rate_Limiter_Limit_Time_Default": 60000,
    "Block_Multiple_Failed_Logins_Attempts_Until_Block_By_User": 10,
    "Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes": 5,
}

ENV_PREFIX = "OVERWRITE_SETTING_"


def _parse(setting_id: str, raw: object) -> bool | int:
    default = DEFAULTS[setting_id]
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ValueError(f"setting {setting_id} must be true or false, got {raw!r}")
        return text == "true"
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError(f"setting {setting_id} must be an integer, got {raw!r}") from None


class Settings:
    """Read-only view of the effective settings (defaults < env < explicit dict)."""

    def __init__(self, forced: Mapping[str, object] | None = None,
                 env: Mapping[str, str] | None = None, test_mode: bool = False) -> None:
        from_env = [(k[len(ENV_PREFIX):], v) for k, v in (env or {}).items() if k.startswith(ENV_PREFIX)]
        self._values = dict(DEFAULTS)
        for key, raw in [*from_env, *(forced or {}).items()]:
            if key not in DEFAULTS:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
            self._values[key] = _parse(key, raw)
        # TEST_MODE=true makes RC's checkCodeForUser return early (its own API tests run this way).
        self.test_mode = test_mode

    def flag(self, key: str) -> bool:
        return bool(self._values[key])

    def number(self, key: str) -> int:
        return int(self._values[key])

    def as_dict(self) -> dict[str, bool | int]:
        return dict(self._values)


def env_test_mode() -> bool:
    """RC checks process.env.TEST_MODE === 'true'."""
    return os.environ.get("TEST_MODE", "") == "true"
