"""Never touch what the suite did not create: the FULL suite against a server with real-looking users.

Users "a", "user", "Admin", "test", "0" hold E2E keys and live sessions; the configured admin has TOTP,
keys and a session of its own. After a full run (property tests included) all of them must be exactly
as before, no user of the run may remain, no reset call may name them or come from the admin, and no
secret seen on the wire may appear in any output of the (passing) run.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
import requests

from selftests.faults.servers import RESET_PATH, FaultProxy

from .helpers import ADMIN, PASSWORD, Done, RefProcess, Session, cli_env, report, run_cli
from .secrets import assert_masked_evidence, assert_no_secrets, from_wire, outputs

pytestmark = pytest.mark.slow

BYSTANDERS = ("a", "user", "Admin", "test", "0")


@dataclass
class Bystander:
    name: str
    password: str
    session: Session
    keys: dict[str, str]


@dataclass
class Run:
    server: RefProcess
    proxy: FaultProxy
    done: Done
    folder: Path
    bystanders: list[Bystander]
    admin_before: Session
    admin_keys: dict[str, str]
    admin_totp: str
    permissions_before: list[dict]


def _method_call(session: Session, method: str, params: list) -> dict:
    message = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
    answer = session.post(f"method.call/{method}", {"message": message}).json()
    return json.loads(answer["message"])["result"]


def _login(url: str, user: str, password: str, totp: str | None = None) -> Session:
    session = Session.__new__(Session)
    body = {"user": user, "password": password}
    if totp:
        body["code"] = pyotp.TOTP(totp).now()
    data = requests.post(f"{url}/api/v1/login", json=body, timeout=10).json()["data"]
    session.url, session.user_id, session.token = url, str(data["userId"]), str(data["authToken"])
    return session


def _keys(who: str) -> dict[str, str]:
    return {"public_key": json.dumps({"kty": "RSA", "n": f"real-{who}"}), "private_key": f"real-private-{who}-x7"}


def _permissions(session: Session) -> list[dict]:
    return sorted(({"_id": p["_id"], "roles": sorted(p["roles"])} for p in session.get("permissions.listAll").json()
                   ["update"]), key=lambda p: p["_id"])


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("untouched")
    # The admin's address is verified so it can switch TOTP on (Rocket.Chat refuses 2fa:enable otherwise).
    server = RefProcess(folder / "ref.db", admin_email_verified=True)  # rate limiter on: RATE-01 runs too
    try:
        admin = server.admin
        people = []
        # Real-looking users first, while the fresh admin needs no second factor for users.create (8.x);
        # unverified, as a default server allows without a mailbox (a verified one gets e-mail 2FA at login).
        for name in BYSTANDERS:
            password = f"Real-{name}-Pa55word-q"
            created = admin.post("users.create", {"username": name, "email": f"{name}-real@example.org",
                                                  "name": f"Real {name}", "password": password, "verified": False})
            assert created.status_code == 200, created.text
            session = _login(server.url, name, password)
            keys = _keys(name)
            assert session.post("e2e.setUserPublicAndPrivateKeys", keys).status_code == 200
            people.append(Bystander(name, password, session, keys))
        secret = _method_call(admin, "2fa:enable", [])["secret"]
        _method_call(admin, "2fa:validateTempToken", [pyotp.TOTP(secret).now()])
        admin_before = _login(server.url, ADMIN, PASSWORD, secret)
        admin_keys = _keys("admin")
        assert admin_before.post("e2e.setUserPublicAndPrivateKeys", admin_keys).status_code == 200
        permissions = _permissions(admin_before)
        with FaultProxy(upstream=server.url) as proxy:  # pass-through: the wire log of the run
            done = run_cli("run", "--url", proxy.url, "--examples", "2", "--allow-config-changes",
                           "--allow-rate-limit-probe", "--report-dir", str(folder / "report"),
                           env=cli_env(folder / "state", RCC_ADMIN_TOTP_SECRET=secret), cwd=folder, timeout=240)
        yield Run(server, proxy, done, folder, people, admin_before, admin_keys, secret, permissions)
    finally:
        server.stop()


def test_full_run_passes(full_run: Run) -> None:
    assert full_run.done.code == 0, full_run.done.both[-3000:]
    assert "Traceback" not in full_run.done.both
    rep = report(full_run.folder / "report")
    assert rep["verdict"] == "pass" and rep["properties"]["cases"] > 0
    assert not full_run.server.internal_errors()


def test_bystanders_keep_keys_and_sessions(full_run: Run) -> None:
    for person in full_run.bystanders:
        assert person.session.get("me").status_code == 200, f"{person.name!r} was logged out"
        got = person.session.get("e2e.fetchMyKeys").json()
        assert {k: got.get(k) for k in person.keys} == person.keys, f"{person.name!r} lost its keys"


def test_admin_keeps_keys_session_and_permissions(full_run: Run) -> None:
    admin = full_run.admin_before
    assert admin.get("me").status_code == 200
    got = admin.get("e2e.fetchMyKeys").json()
    assert {k: got.get(k) for k in full_run.admin_keys} == full_run.admin_keys
    assert _permissions(admin) == full_run.permissions_before


def test_no_user_of_the_run_remains(full_run: Run) -> None:
    assert full_run.admin_before.run_users() == []
    assert sorted(set(full_run.admin_before.usernames()) - {ADMIN}) == sorted(BYSTANDERS)
    state = full_run.folder / "state"
    assert not state.is_dir() or not list(state.glob("run-*.json"))


def test_no_reset_call_names_a_bystander_or_comes_from_the_admin(full_run: Run) -> None:
    ids = {p.session.user_id for p in full_run.bystanders} | {full_run.admin_before.user_id}
    names = {n.lower() for n in BYSTANDERS} | {ADMIN.lower()}
    resets = full_run.proxy.requests_to(RESET_PATH)
    assert len(resets) > 50  # the whole suite, properties included, went through the proxy
    admin_tokens = {json.loads(s.response)["data"]["authToken"] for s in full_run.proxy.requests_to("/api/v1/login")
                    if s.status == 200 and json.loads(s.body).get("user") == ADMIN}
    assert admin_tokens, "the suite should have logged the admin in through the proxy"
    for s in resets:
        headers = {k.lower(): v for k, v in s.headers}
        assert headers.get("x-user-id") not in ids, "a reset call was made as the admin or a bystander"
        assert headers.get("x-auth-token") not in admin_tokens, "the admin's token was used as the reset caller"
        try:
            body = json.loads(s.body or b"null")
        except ValueError:
            continue
        if isinstance(body, dict):
            for key in ("userId", "username", "user"):
                value = body.get(key)
                if isinstance(value, str):
                    assert value.strip() not in ids and value.strip().lower() not in names, (key, value)


def test_no_secret_in_any_output_of_a_passing_run(full_run: Run) -> None:
    secrets, codes = from_wire(full_run.proxy.seen)
    secrets |= {PASSWORD, full_run.admin_totp, full_run.admin_before.token}
    secrets |= {p.password for p in full_run.bystanders} | {p.session.token for p in full_run.bystanders}
    assert len(secrets) > 20 and codes
    texts = outputs(full_run.done.out, full_run.done.err,
                    folders=[full_run.folder / "report", full_run.folder / "state"])
    assert_no_secrets(texts, secrets, codes)
    assert assert_masked_evidence(report(full_run.folder / "report")) >= 10
