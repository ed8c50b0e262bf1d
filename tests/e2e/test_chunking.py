"""BDAT (RFC 3030 CHUNKING), when advertised.

Chunk bytes are counted, never parsed as commands: whatever a chunk contains, and even when the
chunk is refused (no transaction, over the size limit), the server reads exactly the announced
number of octets and answers each BDAT once. Otherwise a refused chunk would become a command
stream (command injection / smuggling through BDAT).
"""

from __future__ import annotations

import pytest

from harness import UNTRUSTED, base_config, listener, session

INJECTED = (b"\r\n.\r\nMAIL FROM:<x@evil.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n.\r\nNOOP\r\nNOOP\r\n")


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound", limits={"message_size": "1MB", "errors": 100})],
                      tls_files=tls_files)
    return module_gatehouse(cfg, name="chunking")


@pytest.fixture
def c(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    if "CHUNKING" not in c.last_ehlo.keywords:
        c.quit()
        pytest.skip("CHUNKING not advertised")
    yield c
    c.close()


def header() -> bytes:
    return b"From: <x@foreign.test>\r\nTo: <alice@example.test>\r\nSubject: bdat\r\n\r\n"


def test_bdat_single_chunk(gh, c):
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    body = header() + b"hello\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.reply()
    assert r.code == 250 and r.queue_id, str(r)
    assert c.pending(0.5) == b""
    msg = {m["id"]: m for m in gh.queue_list()}[r.queue_id]
    assert msg["size"] >= len(body)


def test_bdat_pipelined_chunks(gh, c):
    part1, part2 = header() + b"first part ", b"second part\r\n"
    c.send(b"MAIL FROM:<x@foreign.test>\r\nRCPT TO:<alice@example.test>\r\n"
           + b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT %d LAST\r\n" % len(part2) + part2)
    codes = [c.reply() for _ in range(4)]
    assert [r.code for r in codes] == [250, 250, 250, 250], [str(r) for r in codes]
    assert codes[3].queue_id, str(codes[3])
    assert c.pending(0.5) == b""


def send_fresh(c) -> tuple[str, int]:
    """A one-chunk message from x@foreign.test to alice; returns (queue id, size in the queue)."""
    body = header() + b"fresh\r\n"
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.reply()
    assert r.code == 250 and r.queue_id, str(r)
    return r.queue_id, len(body)


def start_stale_transaction(c) -> None:
    """A transaction whose BDAT chunks never end (no LAST)."""
    stale = b"STALE-BYTES-" * 10
    assert c.cmd("MAIL FROM:<stale@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<bob@example.test>").code == 250
    c.send(b"BDAT %d\r\n" % len(stale) + stale)
    assert c.reply().code == 250


def assert_only_fresh(gh, queue_id: str, reference_id: str) -> None:
    queue = {m["id"]: m for m in gh.queue_list()}
    msg, ref = queue[queue_id], queue[reference_id]
    assert msg["sender"] == "x@foreign.test", msg
    assert msg["recipients"] == ["alice@example.test"], msg
    assert msg["size"] == ref["size"], (msg, ref)  # not one byte of the unfinished chunks


@pytest.mark.parametrize("reset", ["RSET", "EHLO client.foreign.test"])
def test_unfinished_bdat_never_joins_the_next_message(gh, c, reset):
    """RFC 3030 §3: RSET (and a new EHLO) abandons the transaction, chunks included."""
    start_stale_transaction(c)
    assert c.cmd(reset).code == 250
    queue_id, _ = send_fresh(c)
    reference, _ = send_fresh(c)  # the same message, same session state, nothing before it
    assert_only_fresh(gh, queue_id, reference)


def test_bdat_before_starttls_never_joins_a_message_after_it(gh):
    """A plain-text transaction with chunks (injected by a man in the middle, say) is gone after
    STARTTLS (RFC 3207 §4.2): the message sent over TLS keeps its own envelope and content."""
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        if "CHUNKING" not in c.last_ehlo.keywords or "STARTTLS" not in c.last_ehlo.keywords:
            pytest.skip("CHUNKING or STARTTLS not advertised")
        start_stale_transaction(c)
        c.starttls()
        c.ehlo()
        reference, _ = send_fresh(c)
        queue_id, _ = send_fresh(c)
        assert_only_fresh(gh, queue_id, reference)
        assert_only_fresh(gh, reference, queue_id)
    finally:
        c.close()


def test_bdat_content_is_not_interpreted(gh, c):
    before = gh.queue_ids()
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    body = header() + INJECTED
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.reply()
    assert r.code == 250 and r.queue_id, str(r)
    assert c.pending(1.0) == b"", "chunk content was executed as commands"
    assert len(gh.queue_ids() - before) == 1


def test_bdat_over_size_limit_discards_the_chunk(gh, c):
    before = gh.queue_ids()
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    filler = b"z" * 76 + b"\r\n"
    body = header() + filler * (2 * 1024 * 1024 // len(filler)) + INJECTED
    try:
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    replies, closed = c.replies_until_close(timeout=30)
    assert replies and replies[0].code == 552, [str(r) for r in replies]
    assert len(replies) == 1, f"chunk content answered as commands: {[str(r) for r in replies]}"
    if not closed:
        n = c.cmd("NOOP")
        assert n.code == 250, str(n)
    assert gh.queue_ids() == before


def test_bdat_without_transaction_consumes_the_chunk(gh, c):
    body = b"NOOP\r\nNOOP\r\nNOOP\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.reply()
    assert r.code == 503, f"BDAT before MAIL: {r}"
    assert c.pending(1.0) == b"", "the refused chunk was executed as commands"
    assert c.cmd("NOOP").code == 250


def test_bdat_then_data_refused(gh, c):
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    c.send(b"BDAT 5\r\nhello")
    assert c.reply().code == 250
    d = c.cmd("DATA")
    assert d.code == 503, f"DATA inside a BDAT transaction (RFC 3030 §2): {d}"


def test_bdat_zero_last(gh, c):
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    body = header() + b"body\r\n"
    c.send(b"BDAT %d\r\n" % len(body) + body)
    assert c.reply().code == 250
    c.send(b"BDAT 0 LAST\r\n")
    r = c.reply()
    assert r.code == 250 and r.queue_id, str(r)


@pytest.mark.parametrize("bad", [b"BDAT\r\n", b"BDAT x LAST\r\n", b"BDAT -5\r\n", b"BDAT 5 FIRST\r\n",
                                 b"BDAT " + b"9" * 30 + b" LAST\r\n"])
def test_bdat_syntax_errors(gh, c, bad):
    assert c.cmd("MAIL FROM:<x@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    c.send(bad)
    replies, closed = c.replies_until_close(timeout=5)
    assert replies and replies[0].code // 100 == 5, [str(r) for r in replies]
