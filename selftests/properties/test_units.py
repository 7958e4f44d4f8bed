"""Unit tests of the property run's safety mapping, wire guard and SCHEMA-03 check (no server)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests

from conformance.properties import GuardedSession, NameMapper, PoolUser, UnsafeRequest, error_body_shape
from conformance.properties.safety import js_blank, wire_name_values

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


@pytest.mark.parametrize("value", ["", " ", "\t\n", "\u3000", None, 0, 123, True, 1.5, {}, []])
def test_blank_strings_and_non_strings_are_kept(mapper, value):
    assert mapper.map_body({"userId": value}) == {"userId": value}


def test_python_only_whitespace_is_not_blank(mapper):
    assert not js_blank("\x1c")  # Python strips it, JavaScript's trim does not: the server looks it up
    assert mapper.map_body({"username": "\x1c"})["username"].startswith(mapper.nobody_prefix)


def test_nested_values_and_query_operators_are_neutralised(mapper):
    body = {"userId": {"$ne": None, "$regex": "adm"}, "x": {"username": ["admin", 5]}, "foo": "admin"}
    mapped = mapper.map_body(body)
    assert set(mapped["userId"]) == {"rcc$ne", "rcc$regex"}
    assert mapped["userId"]["rcc$regex"] != "adm" and mapped["x"]["username"][1] == 5
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


def _answer(status, body, ctype="application/json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SimpleNamespace(status_code=status, content=content, headers={"Content-Type": [ctype]})


CASE = SimpleNamespace(_meta=None)


@pytest.mark.parametrize("status, body", [
    (400, {"success": False, "error": "Not allowed [error-not-allowed]", "errorType": "error-not-allowed"}),
    (400, {"success": False, "error": "params.userId?.trim is not a function"}),  # undocumented, well-formed
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
