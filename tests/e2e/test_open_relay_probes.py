"""nmap's smtp-open-relay probes, reproduced in Python, and nmap itself when it is installed.

The 16 MAIL FROM / RCPT TO pairs are those of nmap's scripts/smtp-open-relay.nse (nmap 7.x), with
its defaults: domain nmap.scanme.org, from "antispam", to "relaytest", ip = the target address,
srvname = the first word after the code in the greeting. The node's own host name is made an
internal domain here so that the srvname probes exercise the routing normalisation, not just a
foreign domain. Every probe comes from an untrusted client and must be refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from harness import UNTRUSTED, SMTPClient, base_config, listener

DOMAIN = "nmap.scanme.org"
FROM = "antispam"
TO = "relaytest"
IP = "127.0.0.1"
HOSTNAME = "mx.example.test"


def nmap_tests(srvname: str) -> list[tuple[str, str]]:
    d, f, t, ip, s = DOMAIN, FROM, TO, IP, srvname
    return [
        ("", f"{t}@{d}"),
        (f"{f}@{d}", f"{t}@{d}"),
        (f"{f}@{s}", f"{t}@{d}"),
        (f"{f}@[{ip}]", f"{t}@{d}"),
        (f"{f}@[{ip}]", f"{t}%{d}@[{ip}]"),
        (f"{f}@[{ip}]", f"{t}%{d}@{s}"),
        (f"{f}@[{ip}]", f'"{t}@{d}"'),
        (f"{f}@[{ip}]", f'"{t}%{d}"'),
        (f"{f}@[{ip}]", f"{t}@{d}@[{ip}]"),
        (f"{f}@[{ip}]", f'"{t}@{d}"@[{ip}]'),
        (f"{f}@[{ip}]", f"{t}@{d}@{s}"),
        (f"{f}@[{ip}]", f"@[{ip}]:{t}@{d}"),
        (f"{f}@[{ip}]", f"@{s}:{t}@{d}"),
        (f"{f}@[{ip}]", f"{d}!{t}"),
        (f"{f}@[{ip}]", f"{d}!{t}@[{ip}]"),
        (f"{f}@[{ip}]", f"{d}!{t}@{s}"),
    ]


LISTENERS = ["inbound", "outbound", "application"]


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    limits = {"errors": 100}       # nmap's 16 refusals in one session must not hit the error limit
    cfg = base_config([
        listener("inbound", "inbound", tls="starttls", limits=limits),
        listener("outbound", "outbound", tls="starttls", relay_networks=["127.0.0.1/32"], limits=limits),
        listener("application", "application", tls="none", relay_networks=["127.0.0.1/32"],
                 limits=limits),
    ], hostname=HOSTNAME, internal=["example.test", "example.org", HOSTNAME], tls_files=tls_files)
    return module_gatehouse(cfg, name="nmap")


def srvname_of(greeting_text: str) -> str:
    m = re.search(r"\d+\s([\w]+[\w.-]*)", greeting_text)
    assert m, greeting_text
    return m.group(1)


def probe(c: SMTPClient, sender: str, rcpt: str) -> str | None:
    """nmap's step: RSET, MAIL, and RCPT if MAIL was accepted. Returns a problem or None."""
    r = c.cmd("RSET")
    assert r.code == 250, f"RSET: {r}"
    m = c.cmd(f"MAIL FROM:<{sender}>")
    if m.code // 100 != 2:
        return None
    r = c.cmd(f"RCPT TO:<{rcpt}>")
    if r.code // 100 == 2:
        return f"OPEN RELAY: MAIL FROM:<{sender}> -> RCPT TO:<{rcpt}> accepted: {r}"
    if r.code // 100 != 5:
        return f"MAIL FROM:<{sender}> -> RCPT TO:<{rcpt}>: expected a permanent refusal, got {r}"
    return None


@pytest.mark.parametrize("lst", LISTENERS)
@pytest.mark.parametrize("n", range(16), ids=[f"probe{i + 1:02d}" for i in range(16)])
def test_nmap_probe_refused(gh, lst, n):
    c = SMTPClient(gh.port(lst), source=UNTRUSTED)
    try:
        g = c.greet()
        srvname = srvname_of(g.text)
        assert srvname == HOSTNAME, f"greeting should name the node: {g}"
        c.ehlo(DOMAIN)
        sender, rcpt = nmap_tests(srvname)[n]
        problem = probe(c, sender, rcpt)
        assert problem is None, problem
    finally:
        c.quit()


@pytest.mark.parametrize("lst", LISTENERS)
def test_nmap_sequence_in_one_session(gh, lst):
    c = SMTPClient(gh.port(lst), source=UNTRUSTED)
    try:
        srvname = srvname_of(c.greet().text)
        c.ehlo(DOMAIN)
        problems = [p for s, r in nmap_tests(srvname) if (p := probe(c, s, r))]
        assert not problems, "\n".join(problems)
    finally:
        c.quit()


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap not installed")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("lst", LISTENERS)
def test_real_nmap_smtp_open_relay(gh, lst):
    # '+' runs the script although the port is not one of 25/465/587; -sT needs no raw sockets;
    # -S binds nmap's connections (the port scan and the script's) to the untrusted 127.0.0.2.
    args = ["nmap", "-Pn", "-n", "-sT", "-p", str(gh.port(lst)), "--script", "+smtp-open-relay",
            "--script-args", f"smtp-open-relay.ip={IP}", "-S", UNTRUSTED, "-e", "lo", "127.0.0.1"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=150)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "smtp-open-relay:" in out, f"the script did not run:\n{out}"
    assert "Server is an open relay" not in out, out
    assert "Server doesn't seem to be an open relay, all tests failed" in out, out
