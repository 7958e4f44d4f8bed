"""Collect every secret a run used (from the wire, at a proxy) and assert none reaches any output."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from selftests.faults.servers import Seen

#: A TOTP/backup/e-mail code is a short digit string: look for it only as a whole number, so a
#: duration like 0.1234567 or a port cannot raise a false alarm.
_CODE_RE = re.compile(r"^[0-9A-Za-z]{6,8}$")


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return None


def from_wire(seen: Iterable[Seen]) -> tuple[set[str], set[str]]:
    """(long secrets, codes) the suite sent or received: passwords, tokens, TOTP secrets, backup codes,
    private keys, 2FA codes. Generated junk (short or blank values) is not a secret and is skipped."""
    secrets: set[str] = set()
    codes: set[str] = set()
    for s in seen:
        headers = {k.lower(): v for k, v in s.headers}
        token = headers.get("x-auth-token", "")
        if len(token) >= 20:
            secrets.add(token)
        code = headers.get("x-2fa-code", "")
        if _CODE_RE.match(code) and len(set(code)) > 2:  # "000000"/"111111" are deliberate wrong codes
            codes.add(code)
        if re.fullmatch(r"[0-9a-f]{64}", code):  # the password-fallback code: sha256 hex of a password
            secrets.add(code)
        body, answer = _json(s.body), _json(s.response)
        if isinstance(body, dict):
            for key in ("password", "private_key"):
                if isinstance(body.get(key), str) and len(body[key]) >= 8:
                    secrets.add(body[key])
            if isinstance(body.get("code"), str) and _CODE_RE.match(body["code"]):
                codes.add(body["code"])
        if isinstance(answer, dict):
            token = (answer.get("data") or {}).get("authToken") if isinstance(answer.get("data"), dict) else None
            if isinstance(token, str):
                secrets.add(token)
            inner = _json(str(answer.get("message", "")).encode()) if "method.call" in s.path else None
            result = inner.get("result") if isinstance(inner, dict) else None
            if isinstance(result, dict):
                if isinstance(result.get("secret"), str):
                    secrets.add(result["secret"])
                codes.update(c for c in result.get("codes") or [] if isinstance(c, str))
    return secrets, codes


def outputs(*texts: str, folders: Iterable[Path] = ()) -> dict[str, str]:
    """Everything a run wrote for people to read: stdout/stderr plus every file in the given folders."""
    out = {f"output {i}": t for i, t in enumerate(texts)}
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    out[str(path)] = path.read_text(errors="replace")
    return out


def assert_no_secrets(texts: dict[str, str], secrets: Iterable[str], codes: Iterable[str] = ()) -> None:
    leaks = []
    for name, text in texts.items():
        leaks += [f"{name}: secret {s[:4]}… ({len(s)} chars)" for s in secrets if s and s in text]
        leaks += [f"{name}: code {c}" for c in codes
                  if re.search(rf"(?<![0-9A-Za-z]){re.escape(c)}(?![0-9A-Za-z])", text)]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def assert_masked_evidence(report: dict[str, Any]) -> int:
    """Every x-auth-token / x-2fa-code line of the evidence shows *** (returns how many were checked)."""
    checked = 0
    for req in report["requirements"]:
        for ev in req.get("evidence") or []:
            for line in (ev["request"] + "\n" + ev["curl"].replace(" -H '", "\n").replace("' ", "\n")).splitlines():
                name, _, value = line.partition(":")
                if name.strip().lower() in ("x-auth-token", "x-2fa-code"):
                    assert value.strip().rstrip("'") in ("***", ""), f"unmasked {name.strip()} in evidence: {line}"
                    checked += 1
    return checked
