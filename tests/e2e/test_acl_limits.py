"""Per-listener connection ACL (allow / deny / exempt) and limits (DESIGN.md §5, §6).

A refused connection either gets a 4xx/5xx reply instead of the 220 greeting or is closed.
"""

from __future__ import annotations

import time

import pytest

from harness import (ConnectionClosed, SMTPClient, base_config, listener, session, simple_message)


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("deny2", "inbound", deny=["127.0.0.2/32"]),
        listener("allow1", "inbound", allow=["127.0.0.1/32", "2001:db8::/32"]),
        listener("deny_wins", "inbound", allow=["127.0.0.0/8"], deny=["127.0.0.2/32"]),
        listener("exempt", "inbound", deny=["127.0.0.0/8"], exempt=["127.0.0.2/32"]),
        listener("per_client", "inbound", limits={"sessions_per_client": 2}),
        listener("sessions", "inbound", limits={"sessions": 3}),
        listener("rate", "inbound", limits={"connections_per_minute_per_client": 5}),
        listener("rate_exempt", "inbound", exempt=["127.0.0.2/32"],
                 limits={"connections_per_minute_per_client": 2}),
        listener("msg_rate", "inbound", limits={"messages_per_minute_per_client": 3}),
        listener("rcpts", "inbound", limits={"recipients": 3}),
        listener("errors", "inbound", limits={"errors": 3}),
        listener("cmd_timeout", "inbound", limits={"command_timeout": "2s"}),
        listener("data_timeout", "inbound", limits={"data_timeout": "2s"}),
    ], tls_files=tls_files)
    return module_gatehouse(cfg, name="acl")


def greeting_or_refusal(port: int, source: str) -> tuple[bool, str, SMTPClient | None]:
    """(greeted, description, open client if greeted)."""
    try:
        c = SMTPClient(port, source=source, timeout=5)
    except OSError as e:
        return False, f"connect failed: {e!r}", None
    try:
        r = c.reply()
    except ConnectionClosed as e:
        c.close()
        return False, f"closed: {e}", None
    except (TimeoutError, OSError) as e:
        c.close()
        return False, f"no greeting: {e!r}", None
    if r.code == 220:
        return True, str(r), c
    c.close()
    assert r.code // 100 in (4, 5), f"odd greeting {r}"
    return False, str(r), None


def assert_greeted(port, source):
    ok, what, c = greeting_or_refusal(port, source)
    assert ok, f"{source} should be greeted: {what}"
    c.quit()


def assert_refused(port, source):
    ok, what, c = greeting_or_refusal(port, source)
    if c:
        c.quit()
    assert not ok, f"{source} should be refused at connect: {what}"


# --- ACL ------------------------------------------------------------------------------------

def test_deny_list(gh):
    assert_refused(gh.port("deny2"), "127.0.0.2")
    assert_greeted(gh.port("deny2"), "127.0.0.1")


def test_allow_list(gh):
    assert_greeted(gh.port("allow1"), "127.0.0.1")
    assert_refused(gh.port("allow1"), "127.0.0.3")


def test_deny_wins_over_allow(gh):
    assert_refused(gh.port("deny_wins"), "127.0.0.2")
    assert_greeted(gh.port("deny_wins"), "127.0.0.3")


def test_exempt_beats_deny(gh):
    assert_greeted(gh.port("exempt"), "127.0.0.2")
    assert_refused(gh.port("exempt"), "127.0.0.3")


def test_denied_connection_is_logged(gh):
    mark = len(gh.log_text())
    assert_refused(gh.port("deny2"), "127.0.0.2")
    time.sleep(0.5)
    assert "127.0.0.2" in gh.log_text()[mark:], gh.log_tail()


# --- session and rate limits ---------------------------------------------------------------

def test_sessions_per_client(gh):
    port = gh.port("per_client")
    held = []
    try:
        for _ in range(2):
            ok, what, c = greeting_or_refusal(port, "127.0.0.2")
            assert ok, what
            held.append(c)
        assert_refused(port, "127.0.0.2")
        assert_greeted(port, "127.0.0.3")           # another client is not affected
        held.pop().quit()
        time.sleep(0.5)
        assert_greeted(port, "127.0.0.2")           # a slot is free again
    finally:
        for c in held:
            c.close()


def test_sessions_total(gh):
    port = gh.port("sessions")
    held = []
    try:
        for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            ok, what, c = greeting_or_refusal(port, src)
            assert ok, what
            held.append(c)
        assert_refused(port, "127.0.0.5")
        # a full listener does not starve another one (DESIGN.md §6)
        assert_greeted(gh.port("per_client"), "127.0.0.5")
    finally:
        for c in held:
            c.close()


def test_connection_rate_per_client(gh):
    port = gh.port("rate")
    for i in range(5):
        ok, what, c = greeting_or_refusal(port, "127.0.0.2")
        assert ok, f"connection {i + 1} of 5: {what}"
        c.quit()
    assert_refused(port, "127.0.0.2")
    assert_greeted(port, "127.0.0.3")


def test_exempt_from_rate_limit(gh):
    port = gh.port("rate_exempt")
    for i in range(6):
        ok, what, c = greeting_or_refusal(port, "127.0.0.2")
        assert ok, f"exempt client, connection {i + 1}: {what}"
        c.quit()


def test_message_rate_per_client(gh):
    c = session(gh.port("msg_rate"), source="127.0.0.2")
    try:
        for i in range(3):
            r = c.send_mail("x@foreign.test", ["alice@example.test"])
            assert r.code == 250, f"message {i + 1}: {r}"
        m = c.cmd("MAIL FROM:<x@foreign.test>")
        if m.code == 250:
            r = c.cmd("RCPT TO:<alice@example.test>")
            assert r.code // 100 == 4, f"4th message within a minute: RCPT {r}"
        else:
            assert m.code // 100 == 4, f"4th message within a minute: MAIL {m}"
    except ConnectionClosed:
        pass        # a 421 and hang-up is also fine
    finally:
        c.close()


def test_recipients_per_message(gh):
    c = session(gh.port("rcpts"), source="127.0.0.2")
    try:
        m, rs = c.mail_rcpt("x@foreign.test", [f"u{i}@example.test" for i in range(5)])
        codes = [r.code for r in rs]
        assert codes[:3] == [250, 250, 250], codes
        assert all(code in (452, 552) for code in codes[3:]), \
            f"too many recipients should be 452 (RFC 5321 §4.5.3.1.10): {[str(r) for r in rs]}"
        r = c.data(simple_message("x@foreign.test", ["u0@example.test"]))
        assert r.code == 250
    finally:
        c.quit()
    msg = {m["id"]: m for m in gh.queue_list()}[r.queue_id]
    assert len(msg["recipients"]) == 3


def test_error_limit_disconnects(gh):
    c = session(gh.port("errors"), source="127.0.0.2")
    try:
        closed = False
        for i in range(6):
            try:
                r = c.cmd("XYZZY")
            except ConnectionClosed:
                closed = True
                break
            if r.code == 421:
                closed = c.is_closed(3)
                break
            assert r.code // 100 == 5, str(r)
        assert closed, "still connected after 6 errors with errors: 3"
    finally:
        c.close()


def test_command_timeout(gh):
    c = session(gh.port("cmd_timeout"), source="127.0.0.2")
    try:
        t0 = time.monotonic()
        replies, closed = c.replies_until_close(timeout=8)
        assert closed, f"idle session not closed after command_timeout 2s: {[str(r) for r in replies]}"
        assert time.monotonic() - t0 >= 1.5, "closed before the timeout"
        assert all(r.code == 421 for r in replies), [str(r) for r in replies]
    finally:
        c.close()


def test_data_timeout(gh):
    before = gh.queue_ids()
    c = session(gh.port("data_timeout"), source="127.0.0.2")
    try:
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test"])
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: slow\r\n\r\nstarted but never finished\r\n")
        replies, closed = c.replies_until_close(timeout=8)
        assert closed, "stalled DATA not closed after data_timeout 2s"
        assert not any(r.code == 250 for r in replies)
    finally:
        c.close()
    assert gh.queue_ids() == before
