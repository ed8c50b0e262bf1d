"""Strict SMTP framing and sequencing (RFC 5321 §2.3.8, §4.5.3.1, RFC 2920).

* Lines end in CRLF only: a bare LF or bare CR in a command or in DATA gets a 5xx and the
  connection is closed; NUL is refused.
* Commands longer than 512 octets: 500 5.5.2; text lines longer than 1000 octets: message refused.
* Pipelining sync for unauthenticated clients: bytes before the greeting, or message data before
  the 354, get 554 5.5.0 and the connection is dropped. Legitimate RFC 2920 pipelining works.
"""

from __future__ import annotations

import time

import pytest

from harness import (UNTRUSTED, ConnectionClosed, SMTPClient, base_config, listener, session,
                     simple_message)


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound", limits={"errors": 100})], tls_files=tls_files)
    return module_gatehouse(cfg, name="strict")


def fmt(replies):
    return [str(r) for r in replies]


def send_quietly(c, data: bytes):
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def assert_refused_and_closed(c, what: str, want_code: int | None = None):
    replies, closed = c.replies_until_close(timeout=8)
    assert not any(r.code in (250, 354) for r in replies), f"{what}: accepted: {fmt(replies)}"
    refusals = [r for r in replies if r.code // 100 == 5]
    assert refusals, f"{what}: no 5xx reply (closed={closed}): {fmt(replies)}"
    if want_code:
        assert refusals[0].code == want_code, f"{what}: expected {want_code}: {fmt(replies)}"
    assert closed, f"{what}: connection left open: {fmt(replies)}"
    return refusals[0]


# --- pipelining synchronisation ------------------------------------------------------------

@pytest.fixture(scope="module")
def gh_pregreet(module_gatehouse, tls_files):
    """A listener with the pre-greet test on (`greet_delay`): the greeting waits 1 s and a client
    that talks first is a pre-greet talker."""
    cfg = base_config([listener("inbound", "inbound", greet_delay="1s", limits={"errors": 100})],
                      tls_files=tls_files)
    return module_gatehouse(cfg, name="pregreet")


@pytest.mark.parametrize("early", [b"EHLO early.example\r\n", b"MAIL FROM:<x@foreign.test>\r\n",
                                   b"QUIT\r\n"])
def test_bytes_before_greeting_refused(gh_pregreet, early):
    gh = gh_pregreet
    before = gh.queue_ids()
    c = SMTPClient(gh.port("inbound"), source=UNTRUSTED)
    try:
        c.send(early)                 # straight after connect(), before the 220 can be read
        r = assert_refused_and_closed(c, f"{early!r} before greeting", 554)
        assert r.enhanced == "5.5.0", str(r)
    finally:
        c.close()
    assert gh.queue_ids() == before


def test_patient_client_served_after_greet_delay(gh_pregreet):
    c = session(gh_pregreet.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail("x@foreign.test", ["alice@example.test"], simple_message("x@foreign.test", ["alice@example.test"]))
        assert r.code == 250, str(r)
    finally:
        c.quit()


def test_message_data_before_354_refused(gh):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test"])
        assert m.code == 250 and rs[0].code == 250
        send_quietly(c, b"DATA\r\n" + simple_message("x@foreign.test", ["alice@example.test"]) + b".\r\n")
        replies, closed = c.replies_until_close(timeout=8)
        assert not any(r.code == 250 for r in replies), f"queued anyway: {fmt(replies)}"
        refusals = [r for r in replies if r.code // 100 == 5]
        assert refusals and refusals[0].code == 554 and refusals[0].enhanced == "5.5.0", fmt(replies)
        assert closed, fmt(replies)
    finally:
        c.close()
    assert gh.queue_ids() == before


def test_rfc2920_pipelining_allowed(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        if "PIPELINING" not in c.last_ehlo.keywords:
            pytest.skip("PIPELINING not advertised")
        c.send(b"RSET\r\nMAIL FROM:<x@foreign.test>\r\nRCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<bob@example.org>\r\nRCPT TO:<eve@foreign.test>\r\nDATA\r\n")
        codes = [c.reply().code for _ in range(6)]
        assert codes == [250, 250, 250, 250, 554, 354], codes
        c.send(simple_message("x@foreign.test", ["alice@example.test"]) + b".\r\n")
        r = c.reply()
        assert r.code == 250 and r.queue_id, str(r)
        # several whole transactions in one segment are fine too
        m = simple_message("y@foreign.test", ["alice@example.test"])
        c.send(b"MAIL FROM:<y@foreign.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        assert [c.reply().code for _ in range(3)] == [250, 250, 354]
        c.send(m + b".\r\nMAIL FROM:<z@foreign.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        assert [c.reply().code for _ in range(4)] == [250, 250, 250, 354]
        c.send(m + b".\r\nQUIT\r\n")
        assert [c.reply().code for _ in range(2)] == [250, 221]
    finally:
        c.close()


# --- bare LF / bare CR / NUL in commands -----------------------------------------------------

BAD_COMMANDS = [
    b"EHLO client.example.net\n",
    b"NOOP\n",
    b"NO\nOP\r\n",
    b"MAIL FROM:<x@foreign.test>\n",
    b"NOOP\rX\r\n",
    b"NOOP\r\r\n",
    b"MAIL FROM:<x@foreign.test>\rRCPT TO:<alice@example.test>\r\n",
]


@pytest.mark.parametrize("line", BAD_COMMANDS, ids=[repr(l)[2:-1] for l in BAD_COMMANDS])
def test_bare_lf_or_cr_in_command(gh, line):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        send_quietly(c, line)
        assert_refused_and_closed(c, repr(line))
    finally:
        c.close()


def test_bare_lf_in_command_after_mail(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
        send_quietly(c, b"RCPT TO:<alice@example.test>\n")
        assert_refused_and_closed(c, "RCPT with bare LF")
    finally:
        c.close()


@pytest.mark.parametrize("line", [b"NOOP\x00\r\n", b"MAIL FROM:<a\x00b@foreign.test>\r\n",
                                  b"\x00\r\n", b"EHLO a\x00b.example\r\n"],
                         ids=["noop", "mail", "alone", "ehlo"])
def test_nul_in_command_refused(gh, line):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        send_quietly(c, line)
        replies, closed = c.replies_until_close(timeout=3)
        assert replies, "no reply to a command containing NUL"
        assert replies[0].code // 100 == 5, fmt(replies)
    finally:
        c.close()


# --- bare LF / CR / NUL in DATA ------------------------------------------------------------

@pytest.mark.parametrize("text", [b"Subject: x\r\n\r\nline one\nline two\r\n",
                                  b"Subject: x\r\n\r\nline one\rline two\r\n",
                                  b"Subject: x\r\n\r\ntrailing cr\r\r\n",
                                  b"Subject: x\n\nall bare\n"],
                         ids=["bare-lf", "bare-cr", "cr-cr-lf", "unix-newlines"])
def test_bare_lf_or_cr_in_data(gh, text):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test"])
        assert c.cmd("DATA").code == 354
        send_quietly(c, text + b".\r\n")
        assert_refused_and_closed(c, repr(text))
    finally:
        c.close()
    assert gh.queue_ids() == before


def test_nul_in_data_refused(gh):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test"])
        assert c.cmd("DATA").code == 354
        send_quietly(c, b"Subject: nul\r\n\r\nhello\x00world\r\n.\r\n")
        replies, closed = c.replies_until_close(timeout=5)
        assert replies and replies[0].code // 100 == 5, fmt(replies)
        assert not any(r.code == 250 for r in replies), fmt(replies)
    finally:
        c.close()
    assert gh.queue_ids() == before


# --- line lengths --------------------------------------------------------------------------

def test_command_of_512_octets_accepted(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        line = b"NOOP " + b"x" * 505            # + CRLF = 512 octets (RFC 5321 §4.5.3.1.4)
        r = c.cmd(line)
        assert r.code == 250, str(r)
    finally:
        c.quit()


@pytest.mark.parametrize("length", [520, 1000, 4096, 65536])
def test_long_command_500_552(gh, length):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        c.send(b"MAIL FROM:<" + b"a" * length + b"@foreign.test>\r\n")
        r = c.reply()
        assert r.code == 500 and r.enhanced == "5.5.2", f"{length}-octet command: {r}"
        assert c.pending(0.5) == b"", "more than one reply to one over-long line"
        n = c.cmd("NOOP")
        assert n.code == 250, f"the rest of the long line was not discarded: {n}"
        m = c.cmd("MAIL FROM:<x@foreign.test>")
        assert m.code == 250, f"the over-long MAIL must not have started a transaction: {m}"
    finally:
        c.close()


def test_endless_line_does_not_grow_memory(gh):
    rss_before = gh.peak_rss_kb()
    c = session(gh.port("inbound"), source=UNTRUSTED, timeout=30)
    try:
        try:
            for _ in range(64):
                c.send(b"A" * (1024 * 1024))     # 64 MB with no line end
        except (BrokenPipeError, ConnectionResetError):
            pass
        # The line may be discarded silently until it ends; once it ends it gets a 500
        # (or the server has hung up already).
        try:
            c.send(b"\r\n")
            replies, closed = c.replies_until_close(timeout=5)
            assert closed or (replies and replies[0].code == 500), fmt(replies)
        except (BrokenPipeError, ConnectionResetError):
            pass
    finally:
        c.close()
    assert gh.peak_rss_kb() < rss_before + 32 * 1024, "an endless line was buffered"
    s = session(gh.port("inbound"), source=UNTRUSTED)
    s.quit()


def test_text_line_of_1000_octets_accepted(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        body = b"Subject: long line\r\n\r\n" + b"z" * 998 + b"\r\n"
        r = c.send_mail("x@foreign.test", ["alice@example.test"], body)
        assert r.code == 250, str(r)
    finally:
        c.quit()


@pytest.mark.parametrize("where", ["body", "header"])
def test_text_line_over_1000_octets_refused(gh, where):
    before = gh.queue_ids()
    long = b"z" * 2000
    body = (b"Subject: x\r\n\r\n" + long + b"\r\n") if where == "body" else \
        (b"Subject: " + long + b"\r\n\r\nbody\r\n")
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test"])
        assert c.cmd("DATA").code == 354
        send_quietly(c, body + b".\r\n")
        replies, _ = c.replies_until_close(timeout=8)
        assert replies and replies[0].code // 100 == 5, fmt(replies)
        assert not any(r.code == 250 for r in replies), fmt(replies)
    finally:
        c.close()
    assert gh.queue_ids() == before


# --- sequencing ----------------------------------------------------------------------------

def test_command_sequence_errors(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        assert c.cmd("RCPT TO:<alice@example.test>").code == 503
        assert c.cmd("DATA").code == 503
        assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
        assert c.cmd("MAIL FROM:<y@foreign.test>").code == 503
        d = c.cmd("DATA")
        assert d.code in (503, 554), f"DATA without a recipient: {d}"
        assert c.cmd("RSET").code == 250
        assert c.cmd("MAIL FROM:<y@foreign.test>").code == 250
    finally:
        c.quit()


def test_unknown_mail_parameter_555(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.cmd("MAIL FROM:<x@foreign.test> X-FROBNICATE=yes")
        assert r.code == 555, f"unrecognised MAIL parameter (RFC 5321 §4.1.1.11): {r}"
    finally:
        c.quit()


def test_mail_syntax_errors(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        for bad in ("MAIL FROM:x@foreign.test>", "MAIL FROM:<x@foreign.test", "MAIL TO:<x@foreign.test>",
                    "MAIL FROM:<x@foreign.test> <y@foreign.test>", "MAIL"):
            r = c.cmd(bad)
            assert r.code in (500, 501, 553, 555), f"{bad!r}: {r}"
    finally:
        c.quit()


def test_vrfy_and_expn_reveal_nothing(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        for cmd in ("VRFY alice@example.test", "EXPN staff@example.test"):
            r = c.cmd(cmd)
            assert r.code != 250, f"{cmd}: {r}"
    finally:
        c.quit()


def test_quit(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.cmd("QUIT")
        assert r.code == 221, str(r)
        assert c.is_closed(3)
    finally:
        c.close()


def test_help_and_noop_and_rset(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        assert c.cmd("NOOP").code == 250
        assert c.cmd("RSET").code == 250
        assert c.cmd("HELO again.example").code == 250
    finally:
        c.quit()
