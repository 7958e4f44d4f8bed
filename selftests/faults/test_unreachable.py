"""Targets that cannot be judged at all: refused, unresolvable, TLS trouble, silence, non-JSON — one line, exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from selftests.safety.helpers import RefProcess, cli_env, report, run_cli

from .servers import FaultProxy, SilentServer, refused_url, self_signed_cert, server_tls_context

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, url: str, *extra: str, timeout: float = 60, **env: str):
    return run_cli("run", "--url", url, "--report-dir", str(tmp_path / "report"), *extra,
                   env=cli_env(tmp_path / "state", **env), cwd=tmp_path, timeout=timeout)


def _error(done, *needles: str) -> str:
    assert done.code == 2, done.both[-3000:]
    line = done.error_line()
    assert line.startswith("rc-conformance: ") and all(n in line for n in needles), line
    return line


def test_connection_refused(tmp_path: Path) -> None:
    url = refused_url()
    _error(_run(tmp_path, url), "connection refused", url)
    assert report(tmp_path / "report")["verdict"] == "error"


def test_dns_failure(tmp_path: Path) -> None:
    _error(_run(tmp_path, "http://rc-conformance-selftest.invalid:3000"), "DNS lookup failed")
    assert report(tmp_path / "report")["verdict"] == "error"


def test_html_instead_of_api_info(tmp_path: Path) -> None:
    with FaultProxy(mode="html") as proxy:  # e.g. a reverse proxy's welcome page
        _error(_run(tmp_path, proxy.url), "does not look like Rocket.Chat", "text/html")


@pytest.mark.usefixtures("no_leftovers")
def test_html_from_a_setup_endpoint(ref: RefProcess, tmp_path: Path) -> None:
    with FaultProxy(upstream=ref.url, mode="html", paths=frozenset({"/api/v1/users.create"})) as proxy:
        done = _run(tmp_path, proxy.url, "--requirement", "OK-01")
    _error(done, "non-JSON answer", "text/html")
    assert report(tmp_path / "report")["verdict"] == "error"


def test_silent_server_times_out_in_bounded_time(tmp_path: Path) -> None:
    with SilentServer() as silent:
        done = _run(tmp_path, silent.url, "--timeout", "0.5", timeout=30, RCC_DEADLINE="10")
        assert silent.accepted >= 1
    _error(done, "no answer from", "timed out after 0.5 s")
    assert done.seconds < 15


@pytest.fixture(scope="class")
def tls_proxy(ref: RefProcess, tmp_path_factory: pytest.TempPathFactory):
    """A TLS-terminating proxy with a self-signed certificate, shared by the TLS tests."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_cert(folder)
    with FaultProxy(upstream=ref.url, tls=server_tls_context(cert, key)) as proxy:
        yield proxy, cert


class TestTls:
    def test_untrusted_certificate_is_a_tls_error(self, tls_proxy, tmp_path: Path) -> None:
        proxy, _ = tls_proxy
        _error(_run(tmp_path, proxy.url), "TLS error", "CERTIFICATE_VERIFY_FAILED")

    @pytest.mark.parametrize("how", ["ca-bundle", "insecure"])
    @pytest.mark.usefixtures("no_leftovers")
    def test_trusted_or_insecure_gets_past_tls(self, tls_proxy, how: str, tmp_path: Path) -> None:
        proxy, cert = tls_proxy
        extra = ("--ca-bundle", str(cert)) if how == "ca-bundle" else ("--insecure",)
        done = _run(tmp_path, proxy.url, "--requirement", "AUTH-01", *extra)
        assert done.code == 0, done.both[-3000:]
        assert "Traceback" not in done.both and "verdict PASS" in done.out
        statuses = {r["id"]: r["status"] for r in report(tmp_path / "report")["requirements"]}
        assert statuses["AUTH-01"] == "pass"


@pytest.mark.usefixtures("no_leftovers")
def test_wrong_admin_password_is_one_line_and_never_shown(ref: RefProcess, tmp_path: Path) -> None:
    secret = "Wrong-But-Secret-Pa55-9f3e"  # given on the command line, the least safe place
    done = _run(tmp_path, ref.url, "--admin-password", secret, "--requirement", "OK-01")
    _error(done, "refused")
    texts = [done.out, done.err] + [p.read_text() for p in (tmp_path / "report").iterdir()]
    assert texts[2:] and not [t for t in texts if secret in t]
