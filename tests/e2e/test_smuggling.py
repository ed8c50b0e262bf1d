"""SMTP smuggling (CVE-2023-51764/51765/51766 family): end-of-data look-alikes inside DATA.

Each variant of a not-quite-CRLF.CRLF sequence is embedded in a message, followed by a complete
second transaction. Gatehouse accepts only <CRLF>.<CRLF> as end of data and refuses bare LF,
bare CR and NUL, so each must end with a refusal: the first transaction is not acknowledged,
the second never happens, and nothing is queued.
"""

from __future__ import annotations

import time

import pytest

from harness import UNTRUSTED, ConnectionClosed, base_config, listener, session

SEPARATORS = [
    b"\n.\n",
    b"\n.\r",
    b"\r.\n",
    b"\r.\r",
    b"\n.\r\n",
    b"\r.\r\n",
    b"\r\n\x00.\r\n",
    b"\r\n.\n",
    b"\r\n.\r",
    b"\r\n.\r\r\n",
]

FIRST = (b"From: <sender@foreign.test>\r\nTo: <alice@example.test>\r\n"
         b"Subject: smuggling probe\r\n\r\nfirst message")
SMUGGLED = (b"MAIL FROM:<x@evil.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
            b"From: <ceo@example.test>\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], tls_files=tls_files)
    return module_gatehouse(cfg, name="smuggling")


def _send_quietly(c, data: bytes) -> None:
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass     # the server may hang up as soon as it sees the bad byte


@pytest.mark.parametrize("split", [False, True], ids=["one-segment", "split-at-separator"])
@pytest.mark.parametrize("sep", SEPARATORS, ids=[repr(s)[2:-1] for s in SEPARATORS])
def test_smuggling_variant_refused(gh, sep, split):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("sender@foreign.test", ["alice@example.test"])
        assert m.code == 250 and rs[0].code == 250
        r = c.cmd("DATA")
        assert r.code == 354, str(r)
        if split:
            _send_quietly(c, FIRST)
            time.sleep(0.2)
            _send_quietly(c, sep)
            time.sleep(0.2)
            _send_quietly(c, SMUGGLED)
        else:
            _send_quietly(c, FIRST + sep + SMUGGLED)
        replies, closed = c.replies_until_close(timeout=8)
        codes = [x.code for x in replies]
        assert replies, f"no reply at all to the end of the smuggled data (closed={closed})"
        assert 250 not in codes and 354 not in codes, \
            f"{sep!r} ended DATA early or started a second transaction: {[str(x) for x in replies]}"
        assert replies[0].code // 100 == 5, f"expected a 5xx refusal, got {[str(x) for x in replies]}"
        if b"\x00" not in sep:
            # bare CR / bare LF: refuse and hang up (the rest of the stream cannot be trusted)
            assert closed, f"connection left open after {sep!r}: {[str(x) for x in replies]}"
    finally:
        c.close()
    after = gh.queue_ids()
    assert after == before, f"something was queued: {sorted(after - before)}"


def test_server_still_healthy_after_smuggling_attempts(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail("sender@foreign.test", ["alice@example.test"])
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()


def test_dot_stuffing_is_not_end_of_data(gh):
    """Lines that start with a dot (stuffed) and a lone '..' line stay inside the message."""
    body = (b"Subject: dots\r\n\r\n..\r\n...\r\n.. not the end\r\n"
            b"..\r\nMAIL FROM:<x@evil.test>\r\n")
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("sender@foreign.test", ["alice@example.test"])
        assert m.code == 250 and rs[0].code == 250
        r = c.data(body)
        assert r.code == 250 and r.queue_id, str(r)
        assert c.pending(0.5) == b"", "extra replies after end of data"
        n = c.cmd("NOOP")
        assert n.code == 250, str(n)
    finally:
        c.quit()
    msg = {m["id"]: m for m in gh.queue_list()}[r.queue_id]
    assert msg["sender"] == "sender@foreign.test"
    # dot-stuffing removed: one byte less for each stuffed line
    assert msg["size"] >= len(body) - 5


def test_bare_lf_inside_header_refused(gh):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("sender@foreign.test", ["alice@example.test"])
        assert c.cmd("DATA").code == 354
        _send_quietly(c, b"Subject: a\nX-Injected: b\r\n\r\nbody\r\n.\r\n")
        replies, closed = c.replies_until_close(timeout=8)
        assert replies and replies[0].code // 100 == 5, [str(x) for x in replies]
        assert 250 not in [x.code for x in replies]
        assert closed
    except ConnectionClosed:
        pytest.fail("connection closed without a reply")
    finally:
        c.close()
    assert gh.queue_ids() == before
