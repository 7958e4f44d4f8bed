"""Settings: one precedence (defaults < TOML < env < CLI), secrets only from env, never shown."""
from __future__ import annotations

from pathlib import Path

import pytest

from rc_e2e_conformance.contract.config import Settings, load_settings
from rc_e2e_conformance.contract.errors import ConfigError
from rc_e2e_conformance.contract.redact import clear_secrets, redact

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


# -- the option table: one declaration drives argparse, pytest, env, TOML and the example file -----
EXAMPLE = Path(__file__).resolve().parents[2] / "conformance.example.toml"


def _example_values() -> dict:
    import re
    import tomllib

    text = EXAMPLE.read_text(encoding="utf-8")
    return tomllib.loads("\n".join(ln[2:] for ln in text.splitlines() if re.match(r"# [a-z_0-9]+ = ", ln)))


def test_the_example_file_is_generated_from_the_table():
    from rc_e2e_conformance.contract.options import example_toml

    assert EXAMPLE.read_text(encoding="utf-8") == example_toml(), \
        "regenerate it: python -m rc_e2e_conformance.contract.options > conformance.example.toml"


def test_every_toml_key_of_the_table_is_in_the_example_and_loads(tmp_path, monkeypatch):
    from rc_e2e_conformance.contract.config import options

    monkeypatch.chdir(tmp_path)
    example = _example_values()
    assert set(example) == {o.name for o in options() if o.opt.toml}
    env = {"RCC_ADMIN_PASSWORD": "pw-123456", "RCC_ADMIN_TOTP_SECRET": "JBSWY3DPEHPK3PXP",
           "RCC_ADMIN_TOKEN": "tok-123456"}
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    for name, value in example.items():  # one key at a time: url and refserver_mutant exclude each other
        if name == "ca_bundle":
            value = str(ca)
        body = f"{name} = {value!r}\n".replace("'", '"') if isinstance(value, str) else None
        if body is None:
            import json
            body = f"{name} = {json.dumps(value)}\n".replace("True", "true").replace("False", "false")
        extra = 'admin_user = "a"\n' if name == "url" else ""
        # only the variable this key refers to (a lone RCC_ADMIN_TOKEN would be a half token)
        used = {k: v for k, v in env.items() if k in body or (name == "url" and k == "RCC_ADMIN_PASSWORD")}
        settings = load_settings({}, used, _toml(tmp_path, body + extra))
        assert getattr(settings, name) not in (None, ()), name


def test_every_env_var_of_the_table_sets_its_field(tmp_path, monkeypatch):
    from rc_e2e_conformance.contract.config import options

    monkeypatch.chdir(tmp_path)
    samples = {bool: "true", int: "7", float: "2.5", tuple: "AUTH-01,TFA-01", str: "x-value-1234"}
    for o in options():
        if not o.env or o.name in ("url", "ca_bundle", "config_file", "refserver_mutant", "refserver_profile",
                                   "admin_user_id", "admin_token"):
            continue
        raw = "false" if o.opt.invert else samples[o.kind]
        got = getattr(load_settings({}, {o.env: raw}), o.name)
        assert got not in (None, o.default), (o.env, got)
    token = load_settings({}, {"RCC_URL": "http://h", "RCC_ADMIN_USER_ID": "u1", "RCC_ADMIN_TOKEN": "tok-abcdef"})
    assert (token.admin_user_id, token.admin_token) == ("u1", "tok-abcdef")
    assert load_settings({}, {"RCC_REFSERVER_PROFILE": "6"}).refserver_profile == "6"


def test_pytest_options_are_all_prefixed_and_match_the_table():
    from rc_e2e_conformance.contract.config import PYTEST, options
    from rc_e2e_conformance.contract.options import add_pytest_options

    class Group:
        def __init__(self):
            self.flags: dict[str, dict] = {}

        def addoption(self, flag, **kw):
            self.flags[flag] = kw

    group = Group()
    add_pytest_options(group)
    assert all(f.startswith("--rcc-") for f in group.flags)
    assert {"--rcc-url", "--rcc-timeout", "--rcc-strict", "--rcc-admin-user", "--rcc-junit",
            "--rcc-declare-2fa-off", "--rcc-server-version", "--rcc-insecure"} <= set(group.flags)
    assert len(group.flags) == sum(1 for o in options() if o.flag and PYTEST in o.opt.commands)
    assert group.flags["--rcc-timeout"]["help"].endswith("(env RCC_TIMEOUT)")


def test_run_and_cleanup_parsers_come_from_the_table(tmp_path, monkeypatch, capsys):
    from rc_e2e_conformance.cli.main import _parser
    from rc_e2e_conformance.contract.config import CLEANUP, RUN, options
    from rc_e2e_conformance.contract.options import values

    monkeypatch.chdir(tmp_path)
    parser = _parser()
    args = parser.parse_args(["run", "--url", "http://h:3000", "--admin-user", "a", "--timeout", "3",
                              "--requirement", "AUTH-01", "--requirement", "tfa-01", "--insecure",
                              "--declare-2fa-off", "--junit", "j.xml", "--server-version", "8.1.0"])
    s = load_settings(values(args), {"RCC_ADMIN_PASSWORD": "pw-123456"})
    assert (s.url, s.timeout, s.requirements, s.verify_tls, s.declare_2fa_off, s.junit, s.server_version) == (
        "http://h:3000", 3.0, ("AUTH-01", "TFA-01"), False, True, "j.xml", "8.1.0")
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for o in options():
        if o.flag and RUN in o.opt.commands:
            assert o.flag in help_text and f"env {o.env}" in help_text, o.flag
    assert "exit codes:" in help_text and "examples:" in help_text
    cleanup = parser.parse_args(["cleanup", "--url", "http://h", "--timeout", "4"])
    assert vars(cleanup)["timeout"] == "4" and "examples" not in vars(cleanup)
    assert {o.name for o in options() if CLEANUP in o.opt.commands and o.flag} <= set(vars(cleanup))


def test_bad_option_values_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from rc_e2e_conformance.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["run", "--examples", "abc"]) == 2
    err = capsys.readouterr().err
    assert err == "rc-conformance: configuration error: option --examples: examples must be a whole number, got 'abc'\n"
    with pytest.raises(SystemExit) as info:
        main(["run", "--no-such-option"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-option" in err and "usage:" not in err


@pytest.mark.parametrize("url", ["https://chat.example.com/api/v1", "https://chat.example.com/api/v1/",
                                 "http://h:3000/api"])
def test_a_url_ending_in_the_api_path_gets_a_hint(url):
    with pytest.raises(ConfigError, match=r"ends in /api.*give the server's base URL \(http"):
        load_settings({"url": url}, LIVE)


def test_reproduce_command_and_opt_ins_never_carry_secrets(tmp_path, monkeypatch):
    from rc_e2e_conformance.contract.options import opt_in, reproduce_command

    monkeypatch.chdir(tmp_path)
    s = load_settings({"url": "https://chat.example.com", "seed": "9", "requirements": ["AUTH-01"],
                       "allow_config_changes": True, "report_dir": "out", "admin_totp_secret": "JBSWY3DPEHPK3PXP"},
                      LIVE)
    cmd = reproduce_command(s)
    assert cmd == ("rc-conformance run --url https://chat.example.com --admin-user root --allow-config-changes "
                   "--seed 9 --requirement AUTH-01")
    assert "s3cret" not in cmd and "JBSWY" not in cmd and "out" not in cmd.split()
    assert opt_in(s) == ("--allow-config-changes",)
    assert opt_in(load_settings({"verify_tls": False, "strict": True}, {})) == ("--insecure", "--strict")
