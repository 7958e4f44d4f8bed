"""Unit tests of the property run's safety mapping, wire guard and custom checks (no server)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests

from rc_e2e_conformance.contract.releases import release_of
from rc_e2e_conformance.properties import GuardedSession, NameMapper, PoolUser, UnsafeRequest, error_body_shape
from rc_e2e_conformance.properties.caller import malformed_code
from rc_e2e_conformance.properties.checks import make_auth_check, make_reject_check, rocket_chat_must_reject
from rc_e2e_conformance.properties.safety import SAFE_NUMBER, js_blank, wire_name_values

POOL = (PoolUser("PoolId00000000001", "rcc-1a2b3c4d-u1"), PoolUser("PoolId00000000002", "rcc-1a2b3c4d-u2"))
DANGEROUS = ["a", "Admin", "user", "0", "test", " admin ", "rocket.cat", "ADMIN\t", "GonjPyg3gB3Z9ur9s", "a|.*",
             "^.*$", "admin\u200b"]


@pytest.fixture
def mapper() -> NameMapper:
    return NameMapper(run="rcc-1a2b3c4d-", pool=POOL)


@pytest.mark.parametrize("key", ["userId", "username", "user", "USERNAME", " userid "])
@pytest.mark.parametrize("value", DANGEROUS)
def test_real_looking_names_never_survive(mapper, key, value):
    mapped = mapper.map_body({key: value})[key]
    assert mapped != value
    assert mapper.allowed(mapped)
    assert mapped.startswith(mapper.nobody_prefix) or mapper.pool_user(mapped) is not None


def test_mapping_is_deterministic_and_varied(mapper):
    first = [mapper.map_body({"username": v})["username"] for v in DANGEROUS]
    again = [NameMapper(run="rcc-1a2b3c4d-", pool=POOL).map_body({"username": v})["username"] for v in DANGEROUS]
    assert first == again
    assert len(set(first)) > len(DANGEROUS) // 2  # distinct generated values stay (mostly) distinct


def test_nobody_values_are_unmistakable_and_literal(mapper):
    value = mapper.nobody("a|.*(x)[y]{z}^$\\ \u00e9")
    assert value.startswith("rcc-nobody-1a2b3c4d-")
    assert not any(ch in value for ch in "|*()[]{}^$\\")  # no regex metacharacters survive
    assert "\u00e9" in value  # unicode is kept: the server still sees non-ASCII input


@pytest.mark.parametrize("value", ["", " ", "\t\n", "\u3000", None, {}, []])
def test_blank_strings_null_and_empty_containers_are_kept(mapper, value):
    assert mapper.map_body({"userId": value}) == {"userId": value}


@pytest.mark.parametrize("value", [0, 123, True, False, 1.5, -7])
def test_numbers_and_booleans_become_the_one_safe_number(mapper, value):
    """8.x coerces them to text ("123", "true") before the lookup: real users may be named so."""
    mapped = mapper.map_body({"username": value, "userId": [value]})
    assert mapped == {"username": SAFE_NUMBER, "userId": [SAFE_NUMBER]}
    assert GuardedSession(mapper).inspect(requests.Request("POST", "http://t/", json=mapped).prepare())


@pytest.mark.parametrize("body", [{"username": 123}, {"user": True}, {"userId": [0]}])
def test_wire_guard_refuses_numbers_a_server_could_coerce_to_a_name(mapper, body):
    with pytest.raises(UnsafeRequest):
        GuardedSession(mapper).inspect(requests.Request("POST", "http://t/", json=body).prepare())


def test_python_only_whitespace_is_not_blank(mapper):
    assert not js_blank("\x1c")  # Python strips it, JavaScript's trim does not: the server looks it up
    assert mapper.map_body({"username": "\x1c"})["username"].startswith(mapper.nobody_prefix)


def test_nested_values_and_query_operators_are_neutralised(mapper):
    body = {"userId": {"$ne": None, "$regex": "adm"}, "x": {"username": ["admin", 5]}, "foo": "admin"}
    mapped = mapper.map_body(body)
    assert set(mapped["userId"]) == {"rcc$ne", "rcc$regex"}
    assert mapped["userId"]["rcc$regex"] != "adm" and mapped["x"]["username"][1] == SAFE_NUMBER
    assert mapped["foo"] == "admin"  # a key no server reads as a user is left alone


def test_raw_bodies_are_mapped(mapper):
    assert b"admin" not in mapper.map_raw(b'{"user": "admin"}').replace(b"-admin", b"")
    assert mapper.map_raw(b"\x00") == b"\x00"
    form = mapper.map_raw("userId=admin&x=1")
    assert "userId=rcc-nobody" in form or "userId=PoolId" in form


@pytest.mark.parametrize("body, url", [
    (b'{"username": "admin"}', "http://t/api"),
    (b'[{"user": "a"}]', "http://t/api"),
    (b"userId=admin", "http://t/api"),
    (b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nadmin\r\n--b--', "http://t/api"),
    (b"", "http://t/api?user=admin"),
])
def test_wire_guard_refuses_unmapped_names(mapper, body, url):
    session = GuardedSession(mapper)
    prepared = requests.Request("POST", url, data=body).prepare()
    with pytest.raises(UnsafeRequest):
        session.inspect(prepared)
    assert wire_name_values(body, url)


def test_wire_guard_refuses_a_generated_user_id_header(mapper):
    session = GuardedSession(mapper)
    session.caller_ids = {"CallerId000000001"}
    ok = requests.Request("POST", "http://t/", headers={"X-User-Id": "CallerId000000001"}).prepare()
    assert session.inspect(ok) == []
    bad = requests.Request("POST", "http://t/", headers={"X-User-Id": "rocket.cat"}).prepare()
    with pytest.raises(UnsafeRequest):
        session.inspect(bad)


def test_wire_guard_accepts_mapped_bodies(mapper):
    session = GuardedSession(mapper)
    body = json.dumps(mapper.map_body({"userId": "admin", "username": " ", "user": "Test"})).encode()
    refs = session.inspect(requests.Request("POST", "http://t/", data=body).prepare())
    assert len(refs) == 3


def _answer(status, body, ctype="application/json", *, sent=b"{}", headers=None):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = SimpleNamespace(method="POST", body=sent, headers={"Content-Type": "application/json", **(headers or {})})
    return SimpleNamespace(status_code=status, content=content, headers={"Content-Type": [ctype]}, request=request)


CASE = SimpleNamespace(_meta=None)


@pytest.mark.parametrize("status, body", [
    (400, {"success": False, "error": "Not allowed [error-not-allowed]", "errorType": "error-not-allowed"}),
    (400, {"success": False, "error": "params.userId?.trim is not a function"}),  # undocumented, well-formed
    # 8.x's body validator: invalid-params without the suffix; older parameter checks add it.
    (400, {"success": False, "errorType": "invalid-params", "error": "must NOT have additional properties"}),
    (400, {"success": False, "errorType": "invalid-params", "error": "must be string [invalid-params]"}),
    (401, {"status": "error", "message": "You must be logged in to do this."}),  # documented 6.x auth body
    (429, {"success": False, "error": "Slow down [error-too-many-requests]"}),
    (500, b"<html>oops</html>"),  # SCHEMA-02's, not SCHEMA-03's
    (200, {"success": True}),
])
def test_error_body_shape_accepts_real_answers(status, body):
    assert error_body_shape(None, _answer(status, body), CASE) is None


@pytest.mark.parametrize("status, body", [
    (400, {"success": False, "error": "Not allowed", "errorType": "error-not-allowed"}),
    (400, {"success": True, "error": "x"}),
    (400, {"success": False, "error": 5}),
    (400, b"not json"),
    (403, ["success", False]),
])
def test_error_body_shape_rejects_broken_errors(status, body):
    with pytest.raises(AssertionError):
        error_body_shape(None, _answer(status, body), CASE)


V8, V7, V6 = release_of("8.6.0"), release_of("7.4.1"), release_of("6.13.0")


@pytest.mark.parametrize("sent, lines", [
    ({"userId": 5}, (V8, V7, V6)),  # a non-string target: a TypeError up to 7.x, a lookup of "5" (nobody) on 8.x
    ({"userId": None, "username": " "}, (V8, V7, V6)),  # all blank: error-user-param-not-provided
    ({"username": {"a": 1}}, (V8, V7, V6)),
    ({"foo": 1}, (V8,)),  # another key: invalid-params on 8.x, ignored (a self-reset) before
    ([1, 2], (V8,)),  # JSON that is not an object
    ({"userId": "someone", "foo": 1}, (V8,)),
    ({}, ()),  # the self-reset is always allowed
    ({"userId": "someone"}, ()),  # a name is looked up: refused or not depends on who exists
])
def test_what_rocket_chat_refuses_depends_on_the_body_and_the_line(sent, lines):
    for release in (V8, V7, V6):
        answer = _answer(200, {"success": True}, sent=json.dumps(sent).encode())
        assert rocket_chat_must_reject(answer, True, release) is (release in lines), (sent, release.profile)
        check = make_reject_check(True, release)
        if release in lines:
            with pytest.raises(AssertionError):
                check(None, answer, CASE)
        else:
            assert check(None, answer, CASE) is None
        refused = _answer(400, {"success": False, "errorType": "invalid-params", "error": "must be object"},
                          sent=json.dumps(sent).encode())
        assert check(None, refused, CASE) is None  # only a 2xx is judged


@pytest.mark.parametrize("code, two_factor, refused", [
    ("12345", True, True), ("", True, True), ("123456", True, False), ("12345", False, False),
    ("12345", None, False), ("a" * 64, True, False),
])
def test_a_malformed_code_is_refused_only_when_2fa_is_on(code, two_factor, refused):
    answer = _answer(200, {"success": True}, headers={"x-2fa-code": code})
    assert rocket_chat_must_reject(answer, two_factor, V7) is refused


def test_malformed_codes_are_those_the_spec_forbids():
    assert [malformed_code(v) for v in (None, "123456", "AbCd1234", "f" * 64)] == [False] * 4
    assert [malformed_code(v) for v in ("", "12345", "1234567", "F" * 64, 123456)] == [True] * 5


def test_a_2xx_without_the_callers_session_fails_auth_enforced():
    ok, refused = _answer(200, {"success": True}), _answer(401, {"status": "error", "message": "x"})
    with pytest.raises(AssertionError, match="does not enforce"):
        make_auth_check(lambda _: False)(None, ok, CASE)
    assert make_auth_check(lambda _: True)(None, ok, CASE) is None
    assert make_auth_check(lambda _: False)(None, refused, CASE) is None
