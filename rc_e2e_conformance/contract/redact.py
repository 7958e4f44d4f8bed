"""The one redaction path: every report, log line and error message goes through `redact()`."""
from __future__ import annotations

import re
import threading

MASK = "***"

# Header lines and JSON/form fields whose values are secret whatever they hold.
_SECRET_NAMES = (
    r"x-auth-token|x-2fa-code|authorization|cookie|set-cookie|"
    r"password|pass|authToken|token|code|secret|totp_secret|private_key|backup_?codes?|"
    r"admin_password|admin_totp_secret"
)
_HEADER_RE = re.compile(rf"(?im)^(\s*(?:{_SECRET_NAMES})\s*:\s*)(.+)$")
_JSON_RE = re.compile(rf'(?i)("(?:{_SECRET_NAMES})"\s*:\s*)("(?:[^"\\]|\\.)*"|\[[^\]]*\]|-?\d+)')
_CURL_HEADER_RE = re.compile(rf"(?i)(-H\s+'(?:{_SECRET_NAMES})\s*:\s*)([^']*)(')")
_QUERY_RE = re.compile(rf"(?i)([?&](?:{_SECRET_NAMES})=)([^&\s]+)")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: object) -> None:
    """Remember a secret value (password, token, TOTP secret, code) so `redact()` masks it anywhere."""
    text = "" if value is None else str(value)
    if len(text) >= 4:  # masking "1" or "ab" everywhere would garble reports; such values are not secrets
        with _lock:
            _secrets.add(text)


def redact(text: object) -> str:
    """Mask every registered secret and every secret-looking header, JSON field or query value."""
    out = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        out = out.replace(secret, MASK)
    out = _HEADER_RE.sub(lambda m: m.group(1) + MASK, out)
    out = _JSON_RE.sub(lambda m: m.group(1) + f'"{MASK}"', out)
    out = _CURL_HEADER_RE.sub(lambda m: m.group(1) + MASK + m.group(3), out)
    out = _QUERY_RE.sub(lambda m: m.group(1) + MASK, out)
    return out


def clear_secrets() -> None:
    """Forget registered secrets (selftests only)."""
    with _lock:
        _secrets.clear()
