"""STARTTLS (RFC 3207) and AUTH (RFC 4954) on the wire.

CVE-2011-0411: bytes pipelined after STARTTLS in the same segment were answered after the
handshake, inside TLS, by servers that kept their plaintext input buffer. Gatehouse must throw
them away. AUTH is only offered and only accepted after TLS.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import warnings
from pathlib import Path

import pytest

from harness import (UNTRUSTED, SMTPClient, base_config, listener, session, swaks,
                     client_tls_context, CLIENT_NAME)

USER, PASSWORD = "alice@example.test", "correct horse battery staple"


def b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("inbound", "inbound", tls="starttls", auth="off"),
        listener("submission", "submission", tls="starttls_required", auth="required"),
        listener("implicit", "submission", tls="implicit", auth="required"),
        listener("outbound_auth", "outbound", tls="starttls", auth="optional"),
    ], tls_files=tls_files)
    server = module_gatehouse(cfg, start=False, name="tls")
    server.user_add(USER, PASSWORD)
    server.start()
    return server


# --- STARTTLS ---------------------------------------------------------------------------------

INJECTED = ["RSET", "NOOP", "EHLO injected.example", "MAIL FROM:<x@foreign.test>", "QUIT"]


@pytest.mark.parametrize("injected", INJECTED)
@pytest.mark.parametrize("lst", ["inbound", "submission"])
def test_starttls_discards_pipelined_plaintext(gh, lst, injected):
    c = SMTPClient(gh.port(lst), source=UNTRUSTED)
    try:
        c.greet()
        c.ehlo()
        c.send(f"STARTTLS\r\n{injected}\r\n".encode())
        r = c.reply()
        assert r.code == 220, f"STARTTLS: {r}"
        assert c.buf == b"", f"plaintext after the 220: {c.buf!r}"
        stray = c.pending(0.3)
        assert stray == b"", f"the server answered the injected command in plaintext: {stray!r}"
        c._wrap()
        c.send(b"NOOP\r\n")
        first = c.reply()
        assert first.code == 250, f"first reply inside TLS should be NOOP's 250, got {first}"
        extra = c.pending(1.0)
        assert extra == b"", (f"the injected {injected!r} was executed after the handshake: "
                              f"NOOP reply {first}, then {extra!r}")
        e = c.ehlo()
        assert "STARTTLS" not in e.keywords
        m = c.cmd("MAIL FROM:<x@foreign.test>")
        if lst == "inbound":
            assert m.code == 250, f"a fresh transaction after TLS: {m}"
    finally:
        c.close()


@pytest.mark.parametrize("lst", ["inbound", "submission"])
def test_second_starttls_refused(gh, lst):
    c = session(gh.port(lst), source=UNTRUSTED, tls=True)
    try:
        assert "STARTTLS" not in c.last_ehlo.keywords, f"STARTTLS offered inside TLS: {c.last_ehlo}"
        r = c.cmd("STARTTLS")
        assert r.code // 100 == 5, f"second STARTTLS: {r}"
    finally:
        c.close()


def test_starttls_with_parameter_refused(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.cmd("STARTTLS now")
        assert r.code == 501, f"STARTTLS takes no parameters (RFC 3207 §4): {r}"
        ok = c.starttls()
        assert ok.code == 220
    finally:
        c.close()


def test_starttls_advertised_before_tls(gh):
    for lst in ("inbound", "submission", "outbound_auth"):
        c = session(gh.port(lst), source=UNTRUSTED)
        try:
            assert "STARTTLS" in c.last_ehlo.keywords, f"{lst}: {c.last_ehlo}"
        finally:
            c.quit()


def test_configured_certificate_is_presented(gh, tls_files):
    cert_pem = Path(tls_files[0]).read_text()
    want = ssl.PEM_cert_to_DER_cert(cert_pem)
    c = session(gh.port("inbound"), source=UNTRUSTED, tls=True)
    try:
        assert c.peer_certificate_der() == want
    finally:
        c.quit()
    c = SMTPClient(gh.port("implicit"), source=UNTRUSTED, implicit_tls=True)
    try:
        c.greet()
        assert c.peer_certificate_der() == want
    finally:
        c.quit()


def test_starttls_required_refuses_mail_before_tls(gh):
    c = session(gh.port("submission"), source=UNTRUSTED)
    try:
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert r.code == 530 and r.enhanced == "5.7.0", f"MAIL before STARTTLS: {r}"
    finally:
        c.quit()


def _client_can_speak(ctx: ssl.SSLContext, tls_files) -> bool:
    """Self-check: does `ctx` complete a handshake with a permissive local Python server?"""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx.minimum_version = ssl.TLSVersion.TLSv1
    sctx.set_ciphers("ALL:@SECLEVEL=0")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(5)

    def serve():
        try:
            conn, _ = ls.accept()
            with sctx.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with socket.create_connection(ls.getsockname(), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=None):
                return True
    except (OSError, ssl.SSLError):
        return False
    finally:
        t.join(5)
        ls.close()


def test_obsolete_tls_versions_refused(gh, tls_files):
    """TLS 1.0 / 1.1 are prohibited by RFC 8996."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    if not _client_can_speak(ctx, tls_files):
        pytest.skip("this OpenSSL cannot complete a TLS 1.1 handshake even with itself")
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.cmd("STARTTLS")
        assert r.code == 220
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(c.sock, server_hostname=None)
    finally:
        c.close()


# --- AUTH before TLS --------------------------------------------------------------------------

def test_auth_not_advertised_before_tls(gh):
    for lst in ("submission", "outbound_auth"):
        c = session(gh.port(lst), source=UNTRUSTED)
        try:
            assert "AUTH" not in c.last_ehlo.keywords, f"{lst} offers AUTH in plaintext: {c.last_ehlo}"
        finally:
            c.quit()


@pytest.mark.parametrize("command", [f"AUTH PLAIN {b64(chr(0) + USER + chr(0) + PASSWORD)}",
                                     "AUTH PLAIN", "AUTH LOGIN"])
@pytest.mark.parametrize("lst", ["submission", "outbound_auth"])
def test_auth_refused_before_tls(gh, lst, command):
    c = session(gh.port(lst), source=UNTRUSTED)
    try:
        r = c.cmd(command)
        assert r.code == 530 and r.enhanced == "5.7.0", f"{command.split()[0:2]} before TLS: {r}"
    finally:
        c.close()


# --- AUTH after TLS ---------------------------------------------------------------------------

def test_auth_advertised_after_tls(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        mechs = (c.last_ehlo.ext("AUTH") or "").upper().split()
        assert "PLAIN" in mechs and "LOGIN" in mechs, str(c.last_ehlo)
    finally:
        c.quit()


def test_auth_off_listener_has_no_auth_after_tls(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED, tls=True)
    try:
        assert "AUTH" not in c.last_ehlo.keywords, str(c.last_ehlo)
        r = c.cmd(f"AUTH PLAIN {b64(chr(0) + USER + chr(0) + PASSWORD)}")
        assert r.code // 100 == 5, str(r)
    finally:
        c.quit()


def auth_plain(c, user=USER, password=PASSWORD, authzid=""):
    return c.cmd(f"AUTH PLAIN {b64(authzid + chr(0) + user + chr(0) + password)}")


def auth_login(c, user=USER, password=PASSWORD):
    r = c.cmd("AUTH LOGIN")
    assert r.code == 334, str(r)
    assert base64.b64decode(r.lines[0][4:]).lower().startswith(b"username"), str(r)
    r = c.cmd(b64(user))
    assert r.code == 334, str(r)
    assert base64.b64decode(r.lines[0][4:]).lower().startswith(b"password"), str(r)
    return c.cmd(b64(password))


@pytest.mark.parametrize("lst", ["submission", "outbound_auth"])
def test_auth_plain_after_tls(gh, lst):
    c = session(gh.port(lst), source=UNTRUSTED, tls=True)
    try:
        r = auth_plain(c)
        assert r.code == 235 and r.enhanced == "2.7.0", str(r)
        again = auth_plain(c)
        assert again.code == 503, f"AUTH after successful AUTH (RFC 4954 §4): {again}"
        m, rs = c.mail_rcpt(USER, ["bob@foreign.test"])
        assert m.code == 250 and rs[0].code == 250, f"{m} / {rs}"
    finally:
        c.quit()


def test_auth_plain_with_empty_initial_response_challenge(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = c.cmd("AUTH PLAIN")
        assert r.code == 334, str(r)
        r = c.cmd(b64("\0" + USER + "\0" + PASSWORD))
        assert r.code == 235, str(r)
    finally:
        c.quit()


def test_auth_login_after_tls(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = auth_login(c)
        assert r.code == 235 and r.enhanced == "2.7.0", str(r)
    finally:
        c.quit()


def test_auth_on_implicit_tls(gh):
    c = SMTPClient(gh.port("implicit"), source=UNTRUSTED, implicit_tls=True)
    try:
        c.greet()
        e = c.ehlo()
        assert "STARTTLS" not in e.keywords
        assert "PLAIN" in (e.ext("AUTH") or "").upper().split(), str(e)
        r = auth_plain(c)
        assert r.code == 235, str(r)
    finally:
        c.quit()


@pytest.mark.parametrize("how", ["plain", "login"])
@pytest.mark.parametrize("user,password", [(USER, "wrong password"), (USER, ""),
                                           ("nobody@example.test", PASSWORD),
                                           (USER.upper() + "x", PASSWORD)],
                         ids=["wrong-password", "empty-password", "unknown-user", "near-miss-user"])
def test_auth_wrong_credentials_535(gh, how, user, password):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = auth_plain(c, user, password) if how == "plain" else auth_login(c, user, password)
        assert r.code == 535 and r.enhanced == "5.7.8", str(r)
        m = c.cmd("MAIL FROM:<alice@example.test>")
        assert m.code == 530, f"MAIL after a failed AUTH: {m}"
    finally:
        c.close()


def test_auth_plain_foreign_authzid_refused(gh):
    """Authorising as another identity (PLAIN authzid) is not allowed."""
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = auth_plain(c, authzid="bob@example.test")
        assert r.code // 100 == 5, str(r)
    finally:
        c.close()


def test_auth_cancelled(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334
        r = c.cmd("*")
        assert r.code == 501, f"cancelled AUTH (RFC 4954 §4): {r}"
        r = auth_plain(c)
        assert r.code == 235, str(r)
    finally:
        c.quit()


def test_auth_unknown_mechanism(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = c.cmd("AUTH X-UNHEARD-OF")
        assert r.code == 504, f"unknown mechanism (RFC 4954 §4): {r}"
    finally:
        c.quit()


def test_auth_bad_base64(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        r = c.cmd("AUTH PLAIN !!!not-base64!!!")
        assert r.code == 501, f"bad base64 (RFC 4954 §4): {r}"
    finally:
        c.quit()


def test_swaks_auth_plain_and_login(gh):
    for mech in ("PLAIN", "LOGIN"):
        s = swaks(gh.port("submission"), "-tls", "--auth", mech, "--auth-user", USER,
                  "--auth-password", PASSWORD, "--from", USER, "--to", "bob@foreign.test")
        assert s.returncode == 0, str(s)
    s = swaks(gh.port("submission"), "-tls", "--auth", "PLAIN", "--auth-user", USER,
              "--auth-password", "nope", "--from", USER, "--to", "bob@foreign.test")
    assert s.returncode != 0 and s.has_reply("535 5.7.8"), str(s)


def test_auth_optional_listener_unauthenticated_is_untrusted(gh):
    c = session(gh.port("outbound_auth"), source=UNTRUSTED, tls=True)
    try:
        m, rs = c.mail_rcpt(USER, ["bob@foreign.test"])
        assert m.code == 250 and rs[0].code == 554 and rs[0].enhanced == "5.7.1", f"{m} / {rs}"
    finally:
        c.quit()
