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


# --- DNS lists, reverse DNS and DKIM signing ---------------------------------------------------

@pytest.fixture(scope="module")
def lists_setup(module_gatehouse, tls_files, module_sinks, key, tmp_path_factory):
    from dnsserver import DNSServer
    dns = DNSServer({
        # The client 127.0.0.2 is listed in bl.test but not in clean.test (RFC 5782 §2.1).
        "2.0.0.127.bl.test": {"A": ["127.0.0.2"], "TXT": ["listed for testing"]},
        "bl.test": {"TXT": ["zone"]},
        # URI list: evil-links.test is listed.
        "evil-links.test.uribl.test": {"A": ["127.0.0.2"]},
        # Forward-confirmed reverse DNS for the client.
        "2.0.0.127.in-addr.arpa": {"PTR": "client.good.test"},
        "client.good.test": {"A": ["127.0.0.2"]},
    }).start()
    sink = module_sinks()
    key_file = tmp_path_factory.mktemp("dkim") / "out.pem"
    key_file.write_bytes(key[0])
    cfg = gateway_config([route_hosts(["example.org", "partner.test"], [sink.address])], tls_files=tls_files, dns=dns.address)
    cfg["scanning"] = {"dnsbl": {"zones": ["bl.test", "clean.test"]}, "uribl": {"zones": ["uribl.test"]},
                       "dkim": {"keys": [{"domain": "example.org", "selector": "out", "key_file": str(key_file)}]}}
    cfg["policy"] = {"groups": [
        {"name": "in", "scope": {"directions": ["inbound"]}, "rules": [
            {"name": "links", "all": [{"dnsbl": ["uribl.test"]}], "actions": [{"quarantine": "uribl"}], "stop": True},
            {"name": "listed", "all": [{"dnsbl": ["bl.test"]}, {"subject": "/listed/"}],
             "actions": [{"reject": "554 5.7.1 Client listed in bl.test"}]},
            {"name": "named", "all": [{"reverse_dns": ["*.good.test"]}],
             "actions": [{"add_header": {"name": "X-Client-Name", "value": "confirmed"}}]},
        ]},
        {"name": "out", "scope": {"directions": ["outbound"]}, "rules": [
            {"name": "sign", "actions": [{"dkim_sign": {"domain": "example.org", "selector": "out"}}]},
        ]},
    ]}
    gh = module_gatehouse(cfg, name="dnslists")
    yield gh, sink, dns
    dns.stop()


def test_a_listed_client_meets_the_dnsbl_rule(lists_setup):
    gh, _, dns = lists_setup
    reply = transact(gh, "a@remote.test", make_message("a@remote.test", [BOB], "you are listed"))
    assert reply.code == 554 and "bl.test" in str(reply), reply
    assert dns.asked("2.0.0.127.bl.test") and dns.asked("2.0.0.127.clean.test")


def test_reverse_dns_is_forward_confirmed(lists_setup):
    gh, sink, _ = lists_setup
    subject = f"named client {time.time_ns()}"
    assert transact(gh, "a@remote.test", make_message("a@remote.test", [BOB], subject)).code == 250
    assert arrived(sink, subject).message()["X-Client-Name"] == "confirmed"


def test_links_to_a_listed_domain_are_held(lists_setup):
    import json
    import subprocess
    from harness import gatehouse_bin
    gh, sink, _ = lists_setup
    subject = f"links {time.time_ns()}"
    body = "Click http://www.evil-links.test/win?x=1 now\r\nand https://example.com/fine\r\n"
    assert transact(gh, "a@remote.test", make_message("a@remote.test", [BOB], subject, body=body)).code == 250
    p = subprocess.run([str(gatehouse_bin()), "quarantine", "list", "--json", "--folder", "uribl", "--data", str(gh.data)],
                       capture_output=True, text=True, timeout=60)
    assert [e for e in json.loads(p.stdout) if e["subject"] == subject], p.stdout


def test_outbound_mail_is_dkim_signed_and_verifies_with_dkimpy(lists_setup, key):
    gh, sink, _ = lists_setup
    subject = f"signed by us {time.time_ns()}"
    message = make_message("alice@example.org", ["friend@partner.test"], subject, headers={"From": "<alice@example.org>"})
    c = SMTPClient(gh.port("outbound"), timeout=60)
    try:
        c.greet()
        c.ehlo()
        assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
        assert c.cmd("RCPT TO:<friend@partner.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message + b".\r\n")
        assert c.reply(timeout=60).code == 250
    finally:
        c.quit()
    t = arrived(sink, subject)
    assert t.data.startswith(b"DKIM-Signature:") or b"\r\nDKIM-Signature:" in t.data
    record = f"v=DKIM1; k=rsa; p={key[1]}".encode()

    def dnsfunc(name, timeout=5):
        assert name in (b"out._domainkey.example.org.", "out._domainkey.example.org."), name
        return record
    assert dkim.verify(t.data, dnsfunc=dnsfunc), t.data[:1200]
