"""Settings: one precedence (defaults < TOML < env < CLI), secrets only from env, never shown."""
from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config import Settings, load_settings
from conformance.errors import ConfigError
from conformance.redact import clear_secrets, redact

LIVE = {"RCC_ADMIN_USER": "root", "RCC_ADMIN_PASSWORD": "s3cret-pass-word"}


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    clear_secrets()


def _toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_without_any_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./conformance.toml here
    s = load_settings({}, {})
    assert (s.url, s.timeout, s.examples, s.verify_tls, s.refserver_profile) == (None, 10.0, 50, True, "8")
    assert s.embedded and s.config_file is None


def test_precedence_toml_then_env_then_cli(tmp_path):
    path = _toml(tmp_path, 'url = "http://toml:1"\ntimeout = 3\nexamples = 7\nseed = 1\nadmin_user = "t"\n')
    env = {"RCC_TIMEOUT": "4", "RCC_EXAMPLES": "8", "RCC_ADMIN_PASSWORD": "pw-from-env"}
    s = load_settings({"examples": "9", "seed": None}, env, path)
    assert s.url == "http://toml:1"  # TOML beats the default
    assert s.timeout == 4.0  # env beats TOML
    assert s.examples == 9  # CLI beats env
    assert s.seed == 1  # a CLI option that was not given keeps the lower layer
    assert s.config_file == path


def test_default_config_file_is_read_from_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text("examples = 3\n", encoding="utf-8")
    assert load_settings({}, {}).examples == 3


def test_toml_secret_from_env_var(tmp_path):
    path = _toml(tmp_path, 'url = "https://x.example"\nadmin_user = "a"\nadmin_password = "${MY_PW}"\n')
    s = load_settings({}, {"MY_PW": "very-secret-1"}, path)
    assert s.admin_password == "very-secret-1"


def test_literal_secret_in_toml_is_refused_without_echoing_it(tmp_path):
    path = _toml(tmp_path, 'admin_password = "literal-secret-99"\n')
    with pytest.raises(ConfigError) as info:
        load_settings({}, {}, path)
    assert "admin_password" in str(info.value) and "literal-secret-99" not in str(info.value)


@pytest.mark.parametrize("text, fragment", [
    ('nonsense = 1\n', "unknown key"),
    ('admin_password = "${NOT_SET_ANYWHERE}"\n', "not set"),
    ('timeout = "soon"\n', "must be a number"),
    ('strict = "maybe"\n', "true or false"),
    ('refserver_profile = "5"\n', "profile"),
    ('requirements = ["AUTH-01", "NOPE-9"]\n', "NOPE-9"),
    ('requirements = 5\n', "list of IDs"),
    ('url = "ftp://x"\n', "http"),
    ('url = "http://x"\n', "RCC_ADMIN_USER"),
    ('= broken', "not valid TOML"),
])
def test_invalid_configuration_is_a_config_error(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings({}, {}, _toml(tmp_path, text))


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, {}, str(tmp_path / "absent.toml"))


def test_env_booleans_and_empty_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings({}, {"RCC_VERIFY_TLS": "no", "RCC_STRICT": "ON", "RCC_URL": "", "RCC_SEED": ""})
    assert (s.verify_tls, s.strict, s.url, s.seed) == (False, True, None, None)


def test_requirements_are_normalised_and_validated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({"requirements": ["auth-01", "TFA-01", "AUTH-01"]}, {}).requirements == ("AUTH-01", "TFA-01")
    with pytest.raises(ConfigError, match="XYZ-1"):
        load_settings({"requirements": ["XYZ-1"]}, {})


def test_secrets_never_in_repr_and_always_redacted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {**LIVE, "RCC_URL": "https://chat.example", "RCC_ADMIN_TOTP_SECRET": "JBSWY3DPEHPK3PXP"}
    s = load_settings({}, env)
    shown = repr(s) + str(s) + str(s.redacted())
    assert "s3cret-pass-word" not in shown and "JBSWY3DPEHPK3PXP" not in shown
    assert s.redacted()["admin_password"] == "***"
    # Registered on load: any later message mentioning the secret is masked.
    assert redact("login failed for s3cret-pass-word") == "login failed for ***"


def test_settings_are_frozen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings({}, {})
    with pytest.raises(AttributeError):
        s.url = "http://elsewhere"  # type: ignore[misc]
    assert isinstance(s, Settings)


def test_a_password_inside_the_target_url_is_redacted():
    s = load_settings({"url": "https://bob:url-pass-word-9@chat.example.com"}, LIVE)
    assert "url-pass-word-9" not in redact(f"cannot reach {s.url}: connection refused")


@pytest.mark.parametrize("cli, expected", [
    ({}, True), ({"verify_tls": False}, False), ({"ca_bundle": "CA"}, "CA"),
    ({"ca_bundle": "CA", "verify_tls": False}, False),
])
def test_one_tls_rule(tmp_path, cli, expected):
    """Client and property run share one rule: --insecure wins over a CA bundle."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here\n")
    cli = {k: (str(ca) if v == "CA" else v) for k, v in cli.items()}
    assert load_settings(cli, {}).tls_verify == (str(ca) if expected == "CA" else expected)
