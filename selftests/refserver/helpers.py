"""HTTP helpers for the refserver selftests: an API client, user provisioning, TOTP codes."""
from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pyotp
import requests

ADMIN = {"admin_username": "rootadmin", "admin_password": "Adm1n-pass!", "admin_email": "root@refserver.test"}
RESET = "/api/v1/users.resetE2EKey"
_seq = itertools.count(1)


def unique(prefix: str = "u") -> str:
    return f"st{prefix}{int(time.time() * 1000) % 10**7}x{next(_seq)}"


def sha_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def steady_totp_time() -> float:
    """Now, after waiting out the last 3 s of a 30-s step so step-relative codes stay valid."""
    left = 30 - (time.time() % 30)
    if left < 3:
        time.sleep(left + 0.05)  # TOTP wait: the only sleep the selftests allow
    return time.time()


def totp_code(secret: str, steps: int = 0, at: float | None = None) -> str:
    now = steady_totp_time() if at is None else at
    return pyotp.TOTP(secret).at(now + 30 * steps)


@dataclass
class User:
    id: str
    username: str
    password: str
    email: str
    token: str
    roles: list[str]
    totp_secret: str | None = None
    backup_codes: list[str] = field(default_factory=list)

    def headers(self, code: str | None = None, method: str | None = None) -> dict[str, str]:
        h = {"X-User-Id": self.id, "X-Auth-Token": self.token}
        if code is not None:
            h["x-2fa-code"] = code
        if method is not None:
            h["x-2fa-method"] = method
        return h

    def code(self, steps: int = 0) -> str:
        assert self.totp_secret, "user has no TOTP"
        return totp_code(self.totp_secret, steps)

    def fallback(self) -> str:
        return sha_hex(self.password)


class Api:
    """A requests session against one server; `admin` is logged in lazily."""

    def __init__(self, url: str, store: Any = None, admin: dict[str, str] | None = None) -> None:
        self.url = url
        self.admin_creds = admin or ADMIN
        self.store = store  # the server's Store: only for reading the e-mail outbox
        self.http = requests.Session()
        self._admin: User | None = None

    def call(self, method: str, path: str, *, user: User | None = None, code: str | None = None,
             headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        h = dict(user.headers(code) if user else ({"x-2fa-code": code} if code else {}))
        h.update(headers or {})
        return self.http.request(method, self.url + path, headers=h, timeout=15, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def login(self, username: str, password: str, code: str | None = None) -> requests.Response:
        body = {"user": username, "password": password}
        if code:
            body["code"] = code
        return self.post("/api/v1/login", json=body)

    @property
    def admin(self) -> User:
        if self._admin is None:
            c = self.admin_creds
            r = self.login(c["admin_username"], c["admin_password"])
            assert r.status_code == 200, r.text
            d = r.json()["data"]
            self._admin = User(d["userId"], c["admin_username"], c["admin_password"], c["admin_email"],
                               d["authToken"], ["admin"])
        return self._admin

    def admin_code(self) -> str:
        """The admin's second factor for 2FA-protected setup calls: it has no TOTP and no e-mail 2FA, so
        the password fallback (in the 8.x registration grace any code passes)."""
        return sha_hex(self.admin_creds["admin_password"])

    def relogin(self, u: User) -> User:
        """Log in again: TOTP users send their code; e-mail 2FA users the code mailed at login (§11.1)."""
        r = self.login(u.username, u.password, u.code() if u.totp_secret else None)
        if r.status_code == 401 and r.json().get("details", {}).get("method") == "email":
            r = self.login(u.username, u.password, self.last_code(u))
        assert r.status_code == 200, r.text
        u.token = r.json()["data"]["authToken"]
        return u

    def set_verified(self, uid: str, verified: bool = True) -> None:
        r = self.post("/api/v1/users.update", user=self.admin, code=self.admin_code(),
                      json={"userId": uid, "data": {"verified": verified}})
        assert r.status_code == 200, r.text

    def create_user(self, role: str = "user", *, totp: bool = False, verified: bool = True,
                    keys: bool = True, email2fa: bool | None = None, prefix: str = "u") -> User:
        """§11.1's mailbox-free path: created unverified, logged in, then verified by the admin."""
        name = unique(prefix)
        password = f"pw-{name}-Secret"
        email = f"{name}@example.test"
        r = self.post("/api/v1/users.create", user=self.admin, code=self.admin_code(),
                      json={"email": email, "name": name, "password": password, "username": name,
                            "roles": [role], "verified": False})
        assert r.status_code == 200, r.text
        uid = r.json()["user"]["_id"]
        r = self.login(name, password)
        assert r.status_code == 200, r.text
        u = User(uid, name, password, email, r.json()["data"]["authToken"], [role])
        if verified:
            self.set_verified(uid)
        if email2fa is False:
            assert self.post("/api/v1/users.2fa.disableEmail", user=u,
                             code=self._email_code_for(u) if verified else None).status_code == 200
        if totp:
            self.enable_totp(u)
        if keys:
            r = self.post("/api/v1/e2e.setUserPublicAndPrivateKeys", user=u,
                          json={"public_key": f"pub-{name}", "private_key": f"priv-{name}"})
            assert r.status_code == 200, r.text
        return u

    def _email_code_for(self, u: User) -> str:
        """Trigger an e-mailed code and read it from the server's outbox table."""
        self.post("/api/v1/users.2fa.disableEmail", user=u)
        return self.last_code(u)

    def last_code(self, u: User) -> str:
        """The newest e-mailed 2FA code of u (the refserver records mail in its outbox table)."""
        code = self.store.last_code(u.id)
        assert code, "no 2FA code in the outbox"
        return code

    def method_call(self, u: User, method: str, params: list[Any]) -> dict[str, Any]:
        msg = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
        r = self.post(f"/api/v1/method.call/{method}", user=u, json={"message": msg})
        assert r.status_code == 200, r.text
        assert r.json()["success"] is True
        return json.loads(r.json()["message"])

    def enable_totp(self, u: User) -> None:
        res = self.method_call(u, "2fa:enable", [])["result"]
        u.totp_secret = res["secret"]
        inner = self.method_call(u, "2fa:validateTempToken", [totp_code(u.totp_secret)])
        u.backup_codes = inner["result"]["codes"]

    def fetch_keys(self, u: User) -> dict[str, Any]:
        r = self.get("/api/v1/e2e.fetchMyKeys", user=u)
        assert r.status_code == 200, r.text
        return r.json()

    def me_status(self, u: User) -> int:
        return self.get("/api/v1/me", user=u).status_code
