"""Concurrency (16+ clients), a malformed-input sweep with no 5xx, and CLI restart persistence."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .conftest import start
from .helpers import ADMIN, RESET, Api, totp_code

ROOT = Path(__file__).resolve().parents[2]


def test_sixteen_parallel_clients_create_login_and_reset(srv) -> None:
    def worker(i: int) -> tuple[str, str, int]:
        api = Api(srv.url, srv.store)
        u = api.create_user(totp=True, prefix=f"par{i}-")
        assert api.relogin(u).token
        codes = {api.post(RESET, user=u, code=u.code(), json={}).status_code}
        api.relogin(u)
        assert api.post("/api/v1/e2e.setUserPublicAndPrivateKeys", user=u,
                        json={"public_key": "p", "private_key": "s"}).status_code == 200
        return u.id, u.username, codes.pop()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(worker, range(20)))
    assert all(status == 200 for _, _, status in results)
    ids = {uid for uid, _, _ in results}
    assert len(ids) == 20
    db = srv.store.db
    assert db.one("PRAGMA integrity_check")["integrity_check"] == "ok"
    for uid, username, _ in results:
        row = srv.store.get_user(uid)
        assert row["username"] == username and row["e2e_public_key"] == "p" and row["totp_enabled"] == 1
        assert srv.store.token_count(uid) == 1
    dupes = db.all("SELECT username_lower, COUNT(*) AS n FROM users GROUP BY username_lower HAVING n > 1")
    assert dupes == []


MALFORMED: list[tuple[str, bytes, dict[str, str]]] = [
    ("trunc", b'{"userId":', {"content-type": "application/json"}),
    ("deep", b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}),
    ("deep-obj", b'{"a":' * 5000 + b"1" + b"}" * 5000, {"content-type": "application/json"}),
    ("huge", b'{"userId":"' + b"a" * (2 * 1024 * 1024) + b'"}', {"content-type": "application/json"}),
    ("nul", b'{"userId":"a\\u0000b"}', {"content-type": "application/json"}),
    ("raw-nul", b'{"userId":"a\x00b"}', {"content-type": "application/json"}),
    ("surrogate", b'{"userId":"\\ud800"}', {"content-type": "application/json"}),
    ("surrogate-user", b'{"username":"\\udfff x"}', {"content-type": "application/json"}),
    ("bad-utf8", b'{"userId":"\xff\xfe"}', {"content-type": "application/json"}),
    ("unicode", json.dumps({"username": "\u00e9\u6f22\U0001f600"}).encode(), {"content-type": "application/json"}),
    ("big-int", b'{"userId": 1' + b"0" * 5000 + b"}", {"content-type": "application/json"}),
    ("form", b"userId=abc&x=%ff", {"content-type": "application/x-www-form-urlencoded"}),
    ("multipart", b"--b\r\ncontent-disposition: form-data; name=userId\r\n\r\nx\r\n--b--",
     {"content-type": "multipart/form-data; boundary=b"}),
    ("text", b"\x00\x01garbage", {"content-type": "text/plain"}),
    ("no-ctype", b'{"userId":"x"}', {}),
    ("weird-ctype", b"{}", {"content-type": "application/json; charset=utf-16"}),
    ("dup-keys", b'{"userId":"x","userId":null}', {"content-type": "application/json"}),
    ("lone-cr", b"{}", {"content-type": "application/json", "x-2fa-method": "t\u00f6tp"}),
]


@pytest.mark.parametrize("name,raw,headers", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_never_5xx(api: Api, make_user, name: str, raw: bytes, headers: dict[str, str]) -> None:
    u = make_user("admin", totp=True)
    for auth in ({}, u.headers(u.code()), {**u.headers(), "x-2fa-code": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}):
        hdrs = {k: v.encode("utf-8").decode("latin-1") for k, v in {**auth, **headers}.items()}
        r = api.http.post(api.url + RESET, data=raw, headers=hdrs, timeout=20)
        assert r.status_code < 500, (name, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/json"
        assert isinstance(r.json(), dict)
        if u.token and api.me_status(u) == 401:
            api.relogin(u)


def test_odd_headers_and_paths_never_5xx(api: Api, make_user) -> None:
    u = make_user(totp=True)
    cases = [{"X-User-Id": "\u00ff" * 3, "X-Auth-Token": "\u00fe"},
             {"X-User-Id": u.id, "X-Auth-Token": "a" * 10000},
             {**u.headers(), "x-2fa-code": "9" * 500}, {**u.headers(), "x-2fa-code": "1" * 8},
             {**u.headers(), "x-2fa-method": "x" * 300, "x-2fa-code": "123456"}]
    for h in cases:
        r = api.http.post(api.url + RESET, json={}, headers=h)
        assert r.status_code < 500 and r.json()
    for path in ("/api/v1/users.info?userId=%00", "/api/v1/users.list?count=-1", "/api/v1/users.list?count=abc",
                 "/api/v1/subscriptions.getOne?roomId=%ff", "/api/v1/users.info?username=%ed%a0%80"):
        r = api.get(path, user=u)
        assert r.status_code < 500, path
    for path, body in (("/api/v1/users.create", {"email": 1}), ("/api/v1/users.delete", {"userId": [1]}),
                       ("/api/v1/permissions.update", {"permissions": "x"}), ("/api/v1/login", {"user": {"$ne": 1}}),
                       ("/api/v1/login", [1, 2]), ("/api/v1/e2e.setUserPublicAndPrivateKeys", {"public_key": 1}),
                       ("/api/v1/method.call/2fa:validateTempToken", {"message": '{"msg":"method","id":"1",'
                                                                      '"method":"2fa:validateTempToken","params":[1]}'})):
        r = api.post(path, user=api.admin, json=body)
        assert r.status_code < 500, (path, r.text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(db: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ADMIN_USERNAME": "cliadmin", "ADMIN_PASS": "cli-pass", "ADMIN_EMAIL": "cli@x.test",
           "OVERWRITE_SETTING_API_Enable_Rate_Limiter": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance.refserver", "--host", "127.0.0.1", "--port",
                             str(port),
                             "--db", db, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            requests.get(url + "/api/info", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("CLI server did not come up within 15 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def test_cli_restart_with_same_db_keeps_users_and_tokens(tmp_path) -> None:
    db, port = str(tmp_path / "cli.db"), _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _cli(db, port)
    try:
        _wait_up(url, proc)
        api = Api(url, admin={"admin_username": "cliadmin", "admin_password": "cli-pass",
                              "admin_email": "cli@x.test"})
        u = api.create_user(totp=False, verified=False)
    finally:
        _stop(proc)
    proc = _cli(db, port)
    try:
        _wait_up(url, proc)
        me = requests.get(url + "/api/v1/me", headers=u.headers(), timeout=5)
        assert me.status_code == 200 and me.json()["username"] == u.username
        users = requests.get(url + "/api/v1/users.list?count=0", headers=api.admin.headers(), timeout=5).json()
        assert [x["username"] for x in users["users"]].count("cliadmin") == 1  # admin not re-created
    finally:
        _stop(proc)


def test_cli_unknown_mutant_fails_with_one_line(tmp_path) -> None:
    proc = _cli(str(tmp_path / "m.db"), _free_port(), "--mutant", "no-such-mutant")
    _, err = proc.communicate(timeout=15)
    assert proc.returncode != 0
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "mutant" in lines[0] and "Traceback" not in err.decode()


def test_cli_bad_setting_fails_cleanly(tmp_path) -> None:
    env = {**os.environ, "OVERWRITE_SETTING_API_Enable_Rate_Limiter": "maybe", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "rc_e2e_conformance.refserver", "--port", str(_free_port()), "--db",
                           str(tmp_path / "s.db")], env=env, capture_output=True, timeout=15)
    assert proc.returncode != 0 and b"API_Enable_Rate_Limiter" in proc.stderr and b"Traceback" not in proc.stderr


def test_totp_user_survives_restart_via_serve_in_thread(tmp_path) -> None:
    db = str(tmp_path / "t.db")
    with start(db_path=db, settings={"API_Enable_Rate_Limiter": "false"}) as server:
        api = Api(server.url, server.store)
        u = api.create_user(totp=True)
    with start(db_path=db, settings={"API_Enable_Rate_Limiter": "false"}) as server:
        api = Api(server.url, server.store)
        r = api.post(RESET, user=u, code=totp_code(u.totp_secret), json={})
        assert r.json() == {"success": True}
        assert server.store.count_users() >= 2 and ADMIN["admin_username"]


def test_client_hanging_up_mid_body_is_not_an_internal_error(srv) -> None:
    """A client that promises 1000 bytes, sends 10 and hangs up is not a server bug (no 5xx logged)."""
    import socket
    import time
    from urllib.parse import urlsplit

    import requests

    host, port = urlsplit(srv.url).hostname, urlsplit(srv.url).port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/users.resetE2EKey HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-User-Id: a\r\nX-Auth-Token: b\r\nContent-Length: 1000\r\n\r\n{\"userId\":"
        )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server notices the hang-up asynchronously; the fixture then checks the log
        if requests.get(f"{srv.url}/api/info", timeout=5).status_code == 200:
            break
    time.sleep(0.2)
