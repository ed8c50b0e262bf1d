"""Message size: SIZE (RFC 1870) at MAIL, the limit enforced while streaming, and memory.

A 50 MB message must be streamed to the spool, not held in memory: the server's peak resident
set (VmHWM) stays well below the message size.
"""

from __future__ import annotations

import threading
import time

import pytest

from harness import UNTRUSTED, ConnectionClosed, base_config, listener, session

MB = 1024 * 1024
PEAK_RSS_LIMIT_KB = 150 * 1024


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("big", "inbound", limits={"message_size": "60MB"}),
        listener("small", "inbound", limits={"message_size": "1MB"}),
    ], tls_files=tls_files)
    return module_gatehouse(cfg, name="size")


def block(size: int) -> bytes:
    """About `size` bytes of 78-byte numbered CRLF lines (none starts with a dot)."""
    return b"".join(b"L%010d " % i + b"x" * 64 + b"\r\n" for i in range(max(1, size // 78)))


def stream(c, total: int) -> int:
    """Send about `total` bytes of message text in 1 MB writes; returns the bytes sent."""
    header = b"From: <big@foreign.test>\r\nTo: <alice@example.test>\r\nSubject: big\r\n\r\n"
    c.send(header)
    sent = len(header)
    chunk = block(MB)
    while sent + len(chunk) <= total:
        c.send(chunk)
        sent += len(chunk)
    if total - sent >= 78:
        rest = block(total - sent)
        c.send(rest)
        sent += len(rest)
    return sent


class PeakSampler(threading.Thread):
    """Samples VmRSS while the transfer runs (VmHWM alone would hide when the peak happened)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.peak = max(self.peak, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.05)


@pytest.mark.timeout(300)
def test_50mb_message_streamed_with_bounded_memory(gh):
    baseline = gh.peak_rss_kb()
    sampler = PeakSampler(gh.pid)
    sampler.start()
    c = session(gh.port("big"), source=UNTRUSTED, timeout=300)
    try:
        total = 50 * MB
        m = c.cmd(f"MAIL FROM:<big@foreign.test> SIZE={total}")
        assert m.code == 250, str(m)
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        t0 = time.monotonic()
        sent = stream(c, total)
        c.send(b".\r\n")
        r = c.reply(timeout=300)
        elapsed = time.monotonic() - t0
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()
        sampler.stop.set()
        sampler.join(2)
    hwm = gh.peak_rss_kb()
    print(f"\n50 MB: {sent} bytes in {elapsed:.1f}s; VmHWM {baseline} kB before, {hwm} kB after; "
          f"sampled VmRSS peak {sampler.peak} kB")
    assert hwm < PEAK_RSS_LIMIT_KB, f"peak RSS {hwm} kB >= {PEAK_RSS_LIMIT_KB} kB for a 50 MB message"
    msg = {m["id"]: m for m in gh.queue_list()}[r.queue_id]
    assert msg["size"] >= sent, msg
    assert gh.queue_check().returncode == 0


def test_size_advertised(gh):
    c = session(gh.port("small"), source=UNTRUSTED)
    try:
        size = c.last_ehlo.ext("SIZE")
        assert size is not None, str(c.last_ehlo)
        assert size.strip() in (str(MB), str(1000 * 1000)), f"SIZE {size!r} for a 1MB limit"
    finally:
        c.quit()


@pytest.mark.parametrize("declared", [2 * MB, MB + 1, 10 ** 12, 10 ** 19])
def test_declared_size_over_limit_refused_at_mail(gh, declared):
    c = session(gh.port("small"), source=UNTRUSTED)
    try:
        m = c.cmd(f"MAIL FROM:<x@foreign.test> SIZE={declared}")
        assert m.code == 552 and m.enhanced == "5.3.4", f"SIZE={declared}: {m}"
        ok = c.cmd("MAIL FROM:<x@foreign.test> SIZE=1000")
        assert ok.code == 250, f"session should go on after a SIZE refusal: {ok}"
    finally:
        c.quit()


@pytest.mark.parametrize("size_param", ["", " SIZE=1000"], ids=["no-SIZE", "lying-SIZE"])
@pytest.mark.timeout(300)
def test_size_exceeded_while_streaming(gh, size_param):
    before = gh.queue_ids()
    c = session(gh.port("small"), source=UNTRUSTED, timeout=120)
    try:
        m = c.cmd(f"MAIL FROM:<x@foreign.test>{size_param}")
        assert m.code == 250, str(m)
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        try:
            stream(c, 20 * MB)
            c.send(b".\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.reply(timeout=120)
        assert r.code == 552, f"over the 1MB limit: {r}"
        try:
            n = c.cmd("NOOP", timeout=5)
            assert n.code in (250, 421), f"after 552: {n}"
        except ConnectionClosed:
            pass
    finally:
        c.close()
    assert gh.queue_ids() == before


def test_absurd_size_value_refused(gh):
    c = session(gh.port("small"), source=UNTRUSTED)
    try:
        m = c.cmd("MAIL FROM:<x@foreign.test> SIZE=" + "9" * 40)
        assert m.code in (501, 552, 555), f"40-digit SIZE: {m}"
    finally:
        c.quit()


def test_message_just_under_limit_accepted(gh):
    c = session(gh.port("small"), source=UNTRUSTED)
    try:
        m = c.cmd(f"MAIL FROM:<x@foreign.test> SIZE={900 * 1024}")
        assert m.code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        stream(c, 900 * 1024)
        c.send(b".\r\n")
        r = c.reply(timeout=60)
        assert r.code == 250, str(r)
    finally:
        c.quit()
