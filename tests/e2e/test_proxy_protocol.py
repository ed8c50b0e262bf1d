"""HAProxy PROXY protocol v1/v2, honoured only from the listed balancers (DESIGN.md §6).

The listener trusts 192.0.2.10 and 2001:db8::10 as relay networks; the balancer is 127.0.0.1.
A proxied source inside relay_networks may relay to a foreign domain; the balancer's own
address may not; a PROXY header from 127.0.0.2 (not a balancer) is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time

import pytest

from harness import (SMTPClient, base_config, listener, swaks, ConnectionClosed, CLIENT_NAME)

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
TRUSTED_V4, TRUSTED_V6 = "192.0.2.10", "2001:db8::10"
OTHER_V4, OTHER_V6 = "198.51.100.7", "2001:db8:ffff::7"
DENIED_V4 = "203.0.113.5"


def proxy_v1(src: str, dst: str, sport: int, dport: int) -> bytes:
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def proxy_v2(src: str | None, dst: str | None, sport: int = 0, dport: int = 0,
             local: bool = False) -> bytes:
    ver_cmd = 0x20 if local else 0x21
    if src is None:
        return V2_SIG + bytes([ver_cmd, 0x00]) + struct.pack("!H", 0)
    if ":" in src:
        body = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
                + struct.pack("!HH", sport, dport))
        fam = 0x21
    else:
        body = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
                + struct.pack("!HH", sport, dport))
        fam = 0x11
    return V2_SIG + bytes([ver_cmd, fam]) + struct.pack("!H", len(body)) + body


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("proxied", "outbound", tls="starttls", proxy_protocol=True,
                 balancers=["127.0.0.1/32"], relay_networks=[f"{TRUSTED_V4}/32", f"{TRUSTED_V6}/128"],
                 deny=["203.0.113.0/24"]),
    ], tls_files=tls_files)
    return module_gatehouse(cfg, name="proxy")


def relay_attempt(port: int, header: bytes | list[bytes], source: str = "127.0.0.1",
                  sender: str = "alice@example.test", rcpt: str = "bob@foreign.test"):
    """Send the header (a list = separate segments), then MAIL/RCPT. Returns the RCPT reply."""
    c = SMTPClient(port, source=source)
    try:
        for i, part in enumerate(header if isinstance(header, list) else [header]):
            if i:
                time.sleep(0.2)
            c.send(part)
        c.greet()
        c.ehlo()
        m = c.cmd(f"MAIL FROM:<{sender}>")
        assert m.code == 250, str(m)
        return c.cmd(f"RCPT TO:<{rcpt}>")
    finally:
        c.quit()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("src", [TRUSTED_V4, TRUSTED_V6])
def test_proxied_trusted_source_may_relay(gh, version, src):
    port = gh.port("proxied")
    dst = "::1" if ":" in src else "127.0.0.1"
    hdr = proxy_v1(src, dst, 40000, port) if version == 1 else proxy_v2(src, dst, 40000, port)
    r = relay_attempt(port, hdr)
    assert r.code == 250, f"PROXY v{version} from balancer, source {src}: {r}"


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("src", [OTHER_V4, OTHER_V6])
def test_proxied_untrusted_source_may_not_relay(gh, version, src):
    port = gh.port("proxied")
    dst = "::1" if ":" in src else "127.0.0.1"
    hdr = proxy_v1(src, dst, 40000, port) if version == 1 else proxy_v2(src, dst, 40000, port)
    r = relay_attempt(port, hdr)
    assert r.code == 554 and r.enhanced == "5.7.1", f"PROXY v{version} source {src}: {r}"


def test_balancer_address_itself_is_not_trusted(gh):
    """v2 LOCAL (a balancer health check) means 'use the real addresses': 127.0.0.1, untrusted."""
    r = relay_attempt(gh.port("proxied"), proxy_v2(None, None, local=True))
    assert r.code == 554 and r.enhanced == "5.7.1", str(r)


@pytest.mark.parametrize("version", [1, 2])
def test_header_split_across_segments(gh, version):
    port = gh.port("proxied")
    hdr = proxy_v1(TRUSTED_V4, "127.0.0.1", 40000, port) if version == 1 else \
        proxy_v2(TRUSTED_V4, "127.0.0.1", 40000, port)
    r = relay_attempt(port, [hdr[:7], hdr[7:15], hdr[15:]])
    assert r.code == 250, str(r)


def test_proxied_source_is_logged(gh):
    port = gh.port("proxied")
    relay_attempt(port, proxy_v1(TRUSTED_V4, "127.0.0.1", 40001, port))
    time.sleep(0.3)
    assert f"[{TRUSTED_V4}]" in gh.log_text(), gh.log_tail()


def test_proxied_source_subject_to_deny_list(gh):
    port = gh.port("proxied")
    c = SMTPClient(port, source="127.0.0.1")
    try:
        c.send(proxy_v1(DENIED_V4, "127.0.0.1", 40000, port))
        replies, closed = c.replies_until_close(timeout=5)
        assert not any(r.code == 220 for r in replies), \
            f"denied proxied source {DENIED_V4} was greeted: {[str(r) for r in replies]}"
    finally:
        c.close()


@pytest.mark.parametrize("version", [1, 2])
def test_swaks_proxy_from_balancer(gh, version):
    port = gh.port("proxied")
    fam = {1: "TCP4", 2: "AF_INET"}[version]
    common = ["--proxy-version", str(version), "--proxy-family", fam, "--proxy-source-port", "40000",
              "--proxy-dest", "127.0.0.1", "--proxy-dest-port", str(port),
              "--from", "alice@example.test", "--to", "bob@foreign.test", "--quit-after", "RCPT"]
    ok = swaks(port, "--proxy-source", TRUSTED_V4, *common, source="127.0.0.1")
    assert ok.returncode == 0, str(ok)
    bad = swaks(port, "--proxy-source", OTHER_V4, *common, source="127.0.0.1")
    assert bad.returncode == 24 and bad.has_reply("554 5.7.1"), str(bad)


def _refused_from_non_balancer(port: int, header: bytes) -> None:
    c = SMTPClient(port, source="127.0.0.2")
    try:
        c.send(header)
        replies, closed = c.replies_until_close(timeout=4)
        if closed and not any(r.code == 220 for r in replies):
            return                                  # dropped: fine
        assert any(r.code // 100 == 5 for r in replies) or closed, \
            f"PROXY header from a non-balancer neither refused nor dropped: {[str(r) for r in replies]}"
        if not closed:
            # Whatever happened, the claimed source must not have been believed.
            try:
                c.send(f"EHLO {CLIENT_NAME}\r\n".encode())
                c.reply()
                m = c.cmd("MAIL FROM:<alice@example.test>")
                if m.code == 250:
                    r = c.cmd("RCPT TO:<bob@foreign.test>")
                    assert r.code // 100 == 5, f"non-balancer's PROXY header was honoured: {r}"
            except ConnectionClosed:
                pass
    finally:
        c.close()


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_header_from_non_balancer_refused(gh, version):
    port = gh.port("proxied")
    hdr = proxy_v1(TRUSTED_V4, "127.0.0.1", 40000, port) if version == 1 else \
        proxy_v2(TRUSTED_V4, "127.0.0.1", 40000, port)
    _refused_from_non_balancer(port, hdr)


@pytest.mark.parametrize("version", [1, 2])
def test_swaks_proxy_from_non_balancer_refused(gh, version):
    port = gh.port("proxied")
    fam = {1: "TCP4", 2: "AF_INET"}[version]
    s = swaks(port, "--proxy-version", str(version), "--proxy-family", fam,
              "--proxy-source", TRUSTED_V4, "--proxy-source-port", "40000",
              "--proxy-dest", "127.0.0.1", "--proxy-dest-port", str(port),
              "--from", "alice@example.test", "--to", "bob@foreign.test", "--quit-after", "RCPT",
              source="127.0.0.2")
    assert s.returncode != 0, str(s)
    assert not any(l.startswith("250") and "Recipient" in l for l in s.server_lines()), str(s)


@pytest.mark.parametrize("garbage", [
    b"PROXY TCP4 192.0.2.10\r\n",
    b"PROXY TCP4 999.0.2.10 127.0.0.1 1 2\r\n",
    b"PROXY TCP9 192.0.2.10 127.0.0.1 1 2\r\n",
    b"PROXY " + b"A" * 200 + b"\r\n",
    V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", 4) + b"\x00\x00\x00\x00",  # too short for AF_INET
    V2_SIG + bytes([0x31, 0x11]) + struct.pack("!H", 12) + b"\x00" * 12,         # version 3
    b"EHLO no-header-from-a-balancer\r\n",
], ids=["v1-short", "v1-bad-ip", "v1-bad-family", "v1-too-long", "v2-short", "v2-bad-version",
        "no-header"])
def test_malformed_proxy_header_dropped(gh, garbage):
    """A balancer-listed peer that sends no valid header is refused; it never gets a session."""
    c = SMTPClient(gh.port("proxied"), source="127.0.0.1")
    try:
        c.send(garbage)
        replies, closed = c.replies_until_close(timeout=5)
        assert not any(r.code == 250 for r in replies), [str(r) for r in replies]
        assert closed or any(r.code // 100 in (4, 5) for r in replies), \
            f"malformed header neither refused nor dropped: {[str(r) for r in replies]}"
    finally:
        c.close()
