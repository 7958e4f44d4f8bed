"""Self-tests of the OpenAPI contract (openapi/users.resetE2EKey.yaml) and contract/spec.py."""
from __future__ import annotations

import hashlib
import json
import re
import warnings
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis import GenerationMode

from rc_e2e_conformance.contract.catalogue import by_id
from rc_e2e_conformance.contract.resources import SPEC_PATH
from rc_e2e_conformance.contract.spec import (
    OPERATION_PATH,
    component_schema,
    declared_statuses,
    load_spec,
    operation,
    request_schema,
    response_examples,
    response_schema,
    spec_sha256,
    validate_response,
)

#: The docs page's examples and errors, kept in the repo as data (its source is named inside).
DOCS_PAGE = SPEC_PATH.parent / "docs-page.json"


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_spec_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    errors = [e.message for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []


def test_info_servers_and_security_follow_the_docs() -> None:
    spec = load_spec()
    assert "3.6.0" in spec["info"]["summary"] and "Added" in spec["info"]["summary"]
    assert spec["servers"][0]["url"] == "{baseUrl}"
    assert spec["servers"][0]["variables"]["baseUrl"]["default"] == "http://localhost:3000"
    schemes = spec["components"]["securitySchemes"]
    assert {k: (v["type"], v["in"], v["name"]) for k, v in schemes.items()} == {
        "userId": ("apiKey", "header", "X-User-Id"),
        "authToken": ("apiKey", "header", "X-Auth-Token"),
    }
    # ONE requirement object holding both schemes = both headers together (two objects = either).
    assert operation()["security"] == [{"userId": [], "authToken": []}]


def test_schemathesis_loads_the_spec_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = schemathesis.openapi.from_path(str(SPEC_PATH))
        schema.validate()
        assert list(schema.iter_schema_warnings()) == []
        assert schema[OPERATION_PATH]["POST"].label == f"POST {OPERATION_PATH}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_schemathesis_generates_cases(mode: GenerationMode) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        op = schemathesis.openapi.from_path(str(SPEC_PATH))[OPERATION_PATH]["POST"]
        cases: list[Any] = []

        @settings(max_examples=25, database=None, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(op.as_strategy(generation_mode=mode))
        def collect(case: Any) -> None:
            cases.append(case)

        collect()
    assert len(cases) >= 10
    assert all(case.method.upper() == "POST" and case.path == OPERATION_PATH for case in cases)
    if mode is GenerationMode.POSITIVE:
        code_validator = Draft202012Validator(component_schema("TwoFactorCode"))
        for case in cases:
            headers = case.headers or {}
            assert {"X-User-Id", "X-Auth-Token"} <= set(headers), headers
            if "x-2fa-code" in headers:
                assert code_validator.is_valid(headers["x-2fa-code"]), headers["x-2fa-code"]
        codes = [c.headers["x-2fa-code"] for c in cases if "x-2fa-code" in (c.headers or {})]
        assert any(re.fullmatch(r"[0-9]{6}", code) for code in codes), codes


def test_declared_statuses_and_content_types() -> None:
    assert declared_statuses() == (200, 400, 401, 429)
    for code, response in load_spec()["components"]["responses"].items():
        assert list(response["content"]) == ["application/json"], code


def test_request_body_is_optional_and_tolerant() -> None:
    body = load_spec()["components"]["requestBodies"]["ResetE2EKey"]
    assert body["required"] is False
    schema = request_schema()
    assert schema["additionalProperties"] is True
    assert {name: p["type"] for name, p in schema["properties"].items()} == {
        "userId": "string", "username": "string", "user": "string"}
    examples = body["content"]["application/json"]["examples"]
    assert {"docsExample", "emptyBodySelfReset"} <= set(examples)
    docs_example = load_spec()["components"]["examples"]["docsExample"]
    assert docs_example["value"] == {"userId": "GonjPyg3gB3Z9ur9s"}
    assert "illustrative" in (docs_example["summary"] + docs_example["description"]).lower()
    assert load_spec()["components"]["examples"]["emptyBodySelfReset"]["value"] == {}


@pytest.mark.parametrize("code, valid", [
    ("148750", True), ("000000", True), ("aB3dE6gH", True), ("0" * 64, True),
    (hashlib.sha256(b"pw").hexdigest(), True),
    ("14875", False), ("1487501", False), ("abcdef", False), ("A" * 64, False), ("", False),
])
def test_two_factor_code_schema_accepts_every_real_code_form(code: str, valid: bool) -> None:
    assert Draft202012Validator(component_schema("TwoFactorCode")).is_valid(code) is valid


def test_two_factor_method_header_is_an_optional_enum() -> None:
    params = {p["name"]: p for p in load_spec()["components"]["parameters"].values()}
    assert params["x-2fa-code"]["required"] is False and params["x-2fa-method"]["required"] is False
    assert component_schema("TwoFactorMethod")["enum"] == ["totp", "email", "password"]


def test_every_example_validates_against_its_own_schema() -> None:
    for status in declared_statuses():
        examples = response_examples(status)
        assert examples, f"no examples for {status}"
        for name, value in examples.items():
            assert validate_response(status, value) == [], (status, name)
    request_validator = Draft202012Validator(request_schema())
    for name, example in load_spec()["components"]["examples"].items():
        if name in load_spec()["components"]["requestBodies"]["ResetE2EKey"]["content"][
                "application/json"]["examples"]:
            assert request_validator.is_valid(example["value"]), name
    code_param = load_spec()["components"]["parameters"]["TwoFactorCode"]
    assert Draft202012Validator(component_schema("TwoFactorCode")).is_valid(code_param["example"])


def test_every_component_example_is_used() -> None:
    refs = {node["$ref"] for node in _walk(load_spec()) if "$ref" in node}
    unused = {name for name in load_spec()["components"]["examples"]
              if f"#/components/examples/{name}" not in refs}
    assert unused == set()


def _docs_page() -> dict[str, Any]:
    return json.loads(DOCS_PAGE.read_text(encoding="utf-8"))


def test_every_documented_error_is_an_example_and_validates() -> None:
    errors = _docs_page()["errors"]
    assert [e["name"] for e in errors] == ["Authorization", "No Permission", "Invalid User",
                                           "TOTP Required", "Invalid TOTP"]
    for error in errors:
        body = error["body"]
        status = 401 if body.get("status") == "error" else 400
        assert body in response_examples(status).values(), body
        assert validate_response(status, body) == [], body
    assert _docs_page()["success_example"] in response_examples(200).values()


def test_the_documented_request_example_is_a_request_example() -> None:
    """The docs page's only request example names a user no server has, but its shape is the contract's."""
    assert Draft202012Validator(request_schema()).is_valid(_docs_page()["request_example"])


NOT_VALID = [
    pytest.param(400, {"success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required",
                       "details": {"method": "totp", "codeGenerated": False, "availableMethods": [{}]}},
                 id="availableMethods-of-objects"),
    pytest.param(400, {"error": "Not allowed [error-not-allowed]", "errorType": "error-not-allowed"},
                 id="error-without-success"),
    pytest.param(400, {"success": True, "error": "Not allowed [error-not-allowed]", "errorType": "error-not-allowed"},
                 id="error-with-success-true"),
    pytest.param(400, {"success": False, "error": "params.userId?.trim is not a function", "errorType": 5},
                 id="errorType-not-string"),
    pytest.param(400, {"success": False}, id="error-without-error-text"),
    pytest.param(400, {"success": False, "error": "Not allowed", "errorType": "error-not-allowed"},
                 id="documented-text-changed"),
    pytest.param(400, {"success": False, "error": "Kaput", "errorType": "error-kaput"},
                 id="errorType-not-in-error-text"),
    pytest.param(200, {"success": "true"}, id="200-success-string"),
    pytest.param(200, {}, id="200-empty"),
    pytest.param(401, {"status": "error"}, id="401-without-message"),
    pytest.param(401, {"status": "error", "message": "Unauthorized"}, id="401-other-message"),
    pytest.param(400, {"success": False, "error": "TOTP Invalid [totp-invalid]", "errorType": "totp-invalid",
                       "details": {"method": "sms", "codeGenerated": False}}, id="totp-invalid-method-sms"),
    pytest.param(400, {"success": False, "error": "TOTP Invalid [totp-invalid]", "errorType": "totp-invalid"},
                 id="totp-invalid-without-details"),
    pytest.param(400, {"success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required",
                       "details": {"method": "totp", "codeGenerated": False, "availableMethods": ["password"]}},
                 id="availableMethods-password"),
    pytest.param(429, {"success": False, "error": "slow down"}, id="429-without-marker"),
    pytest.param(500, {"success": False, "error": "boom"}, id="undeclared-status"),
    pytest.param(400, "Bad Request", id="400-not-json-object"),
]


@pytest.mark.parametrize("status, body", NOT_VALID)
def test_off_contract_bodies_do_not_validate(status: int, body: object) -> None:
    assert validate_response(status, body) != []
    schema = response_schema(status)
    if schema is not None:  # schemathesis judges responses with jsonschema_rs: it must agree
        assert not jsonschema_rs.validator_for(schema).is_valid(body)


TOTP = {"success": False, "error": "TOTP Invalid [totp-invalid]", "errorType": "totp-invalid"}
REQUIRED = {"success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required"}
AUTH = "You must be logged in to do this."
REAL_BODIES = [  # behaviour.md, written out here so the spec's own examples are not the oracle
    pytest.param(400, {**TOTP, "details": {"method": "totp"}}, id="totp-invalid-3.6"),
    pytest.param(400, {**TOTP, "details": {"method": "totp", "codeGenerated": False}}, id="totp-invalid-4.5"),
    pytest.param(400, {**TOTP, "details": {"method": "totp", "codeGenerated": False,
                                           "availableMethods": ["totp", "email"]}}, id="totp-invalid-6.3"),
    pytest.param(400, {**REQUIRED, "details": {"method": "email", "codeGenerated": True,
                                               "emailOrUsername": "a@b.example", "availableMethods": ["email"]}},
                 id="totp-required-email-sent"),
    pytest.param(400, {**REQUIRED, "details": {"method": "email", "codeGenerated": False,
                                               "codeExpires": "2030-01-01T00:00:00.000Z",
                                               "availableMethods": ["totp", "email"]}},
                 id="totp-required-email-pending"),
    pytest.param(400, {**REQUIRED, "details": {"method": "password", "codeGenerated": False,
                                               "availableMethods": []}}, id="totp-required-password"),
    pytest.param(400, {**TOTP, "details": {"method": "password", "codeGenerated": False,
                                           "availableMethods": []}}, id="totp-invalid-password"),
    pytest.param(400, {"success": False, "error": "params.userId?.trim is not a function"}, id="type-error"),
    pytest.param(400, {"success": False, "error": 'The required "userId" or "username" param was not provided '
                       "[error-user-param-not-provided]", "errorType": "error-user-param-not-provided"},
                 id="user-param-not-provided"),
    pytest.param(400, {"success": False, "error": "TOTP Maximun Failed Attempts Reached [totp-max-attempts]",
                       "errorType": "totp-max-attempts"}, id="totp-max-attempts"),
    pytest.param(400, {"success": False, "error": "Not allowed [error-not-allowed]",
                       "errorType": "error-not-allowed", "details": {"method": "users.resetE2EKey"}},
                 id="not-allowed-with-details"),
    pytest.param(401, {"success": False, "error": AUTH, "status": "error", "message": AUTH}, id="401-7.x"),
    pytest.param(401, {"status": "error", "message": AUTH}, id="401-6.x"),
    pytest.param(429, {"success": False, "error": "Error, too many requests. Please slow down. You must wait 37 "
                       "seconds before trying this endpoint again. [error-too-many-requests]"}, id="429"),
    pytest.param(200, {"success": True}, id="200"),
    pytest.param(200, {"success": True, "newField": 1}, id="200-additive"),
]


@pytest.mark.parametrize("status, body", REAL_BODIES)
def test_real_rocket_chat_bodies_validate(status: int, body: object) -> None:
    assert validate_response(status, body) == []
    assert jsonschema_rs.validator_for(response_schema(status)).is_valid(body)


def test_mismatch_messages_name_the_claimed_error_kind() -> None:
    problems = validate_response(400, {**TOTP, "details": {"method": "sms"}})
    assert problems == ["$.details.method: 'sms' is not one of ['totp', 'email', 'password'] (as totp-invalid)"]
    assert validate_response(418, {}) == [
        "HTTP status 418 is not declared by the spec (declared: 200, 400, 401, 429)"]


def test_resolved_schemas_are_standalone() -> None:
    for status in declared_statuses():
        schema = response_schema(status)
        assert schema is not None
        assert not any("$ref" in node for node in _walk(schema)), status
        Draft202012Validator.check_schema(schema)
    assert response_schema(404) is None
    response_schema(200)["properties"] = {}  # callers get copies: mutating one spoils nothing
    assert validate_response(200, {"success": "true"}) != []


def test_spec_sha256_is_the_file_digest() -> None:
    assert spec_sha256() == hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()


def test_x_requirements_name_catalogue_ids_and_cover_every_response() -> None:
    known = set(by_id())
    spec = load_spec()
    tagged = [operation()] + list(spec["components"]["responses"].values())
    linked: set[str] = set()
    for node in tagged:
        assert node.get("x-requirements"), node.get("description", "")[:60]
        assert set(node["x-requirements"]) <= known, set(node["x-requirements"]) - known
        linked |= set(node["x-requirements"])
    assert known - linked == set()  # every catalogue entry says which answer is its evidence
