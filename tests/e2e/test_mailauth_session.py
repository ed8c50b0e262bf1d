"""Sender authentication in the session (issue "Policy and scanning"): with
`scanning.authentication.enabled`, mail on an inbound listener is checked for SPF, DKIM and DMARC
against a DNS server the test starts; the policy sees the results (here: DMARC fail → reject), and
every delivered copy carries one Authentication-Results field of ours, forged ones removed.
Messages are signed by dkimpy (Debian python3-dkim), an implementation independent of ours."""

from __future__ import annotations

import base64
import time

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from deliverykit import HOSTNAME, gateway_config, make_message, route_hosts, wait_until
from harness import SMTPClient, UNTRUSTED

BOB = "bob@example.org"


@pytest.fixture(scope="module")
def key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(public).decode()


@pytest.fixture(scope="module")
def setup(module_gatehouse, tls_files, module_sinks, key):
    from dnsserver import DNSServer
    dns = DNSServer({
        # 127.0.0.2 is the test client's address.
        "good.test": {"TXT": ["v=spf1 ip4:127.0.0.2 -all"], "MX": [(10, "mx.good.test")]},
        "_dmarc.good.test": {"TXT": ["v=DMARC1; p=reject"]},
        "sel._domainkey.good.test": {"TXT": [f"v=DKIM1; k=rsa; p={key[1]}"]},
        "spoofed.test": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]},
        "_dmarc.spoofed.test": {"TXT": ["v=DMARC1; p=reject"]},
    }).start()
    sink = module_sinks()
    cfg = gateway_config([route_hosts(["example.org"], [sink.address])], tls_files=tls_files, dns=dns.address)
    cfg["scanning"] = {"authentication": {"enabled": True}}
    cfg["policy"] = {"groups": [{"name": "auth", "scope": {"directions": ["inbound"]}, "rules": [
        {"name": "dmarc-reject", "all": [{"dmarc": ["fail"]}], "actions": [{"reject": "550 5.7.26 DMARC policy says reject"}]},
    ]}]}
    gh = module_gatehouse(cfg, name="mailauth")
    yield gh, sink
    dns.stop()


def transact(gh, sender: str, body: bytes):
    c = SMTPClient(gh.port("inbound"), source=UNTRUSTED, timeout=60)
    try:
        c.greet()
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{sender}>").code == 250
        assert c.cmd(f"RCPT TO:<{BOB}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(body + b".\r\n")
        return c.reply(timeout=60)
    finally:
        c.quit()


def arrived(sink, subject: str):
    wait_until(lambda: [t for t in sink.transactions if subject.encode() in t.data], 30, f"{subject} at the sink")
    return [t for t in sink.transactions if subject.encode() in t.data][0]


def test_signed_aligned_mail_passes_and_is_stamped(setup, key):
    gh, sink = setup
    subject = f"signed {time.time_ns()}"
    message = make_message("news@good.test", [BOB], subject, headers={
        "From": "<news@good.test>",
        # A forged field bearing our authserv-id, which must not survive.
        "Authentication-Results": f"{HOSTNAME}; spf=pass smtp.mailfrom=forged.test; dkim=pass; dmarc=pass"})
    signed = dkim.sign(message, b"sel", b"good.test", key[0], include_headers=[b"from", b"to", b"subject", b"date"]) + message
    assert transact(gh, "news@good.test", signed).code == 250
    t = arrived(sink, subject)
    fields = t.message().get_all("Authentication-Results")
    ours = [f for f in fields if f.strip().startswith(HOSTNAME)]
    assert len(ours) == 1, fields
    assert "spf=pass" in ours[0] and "dkim=pass" in ours[0] and "dmarc=pass" in ours[0], ours[0]
    assert "forged.test" not in t.data.decode(errors="replace")


def test_dmarc_fail_is_rejected_in_the_session(setup):
    gh, sink = setup
    subject = f"spoofed {time.time_ns()}"
    message = make_message("ceo@spoofed.test", [BOB], subject, headers={"From": "<ceo@spoofed.test>"})
    reply = transact(gh, "ceo@spoofed.test", message)
    assert reply.code == 550 and "5.7.26" in str(reply), reply
    time.sleep(1)
    assert not [t for t in sink.transactions if subject.encode() in t.data]
