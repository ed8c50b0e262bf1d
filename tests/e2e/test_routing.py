"""Addresses that try to route through the gateway (DESIGN.md §5).

They are normalised first and judged on the final destination: refused when it is foreign
(or when the address cannot be judged at all), accepted when it is internal. Internal domains
here: example.test and example.org. All from an untrusted client on an inbound listener.
"""

from __future__ import annotations

import pytest

from harness import UNTRUSTED, base_config, listener, session


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("inbound", "inbound", limits={"errors": 100}),
        listener("outbound", "outbound", relay_networks=["127.0.0.1/32"], limits={"errors": 100}),
    ], tls_files=tls_files)
    return module_gatehouse(cfg, name="routing")


REFUSED = [
    # percent hack
    "u%foreign.test@example.test",
    "u%foreign.test@EXAMPLE.TEST",
    "u%foreign.test@example.test.",
    "u%foreign.test%example.org@example.test",      # -> u%foreign.test@example.org -> u@foreign.test
    "u%[192.0.2.1]@example.test",
    # bang paths (UUCP): the host before the last '!' is the destination
    "foreign.test!u@example.test",
    "foreign.test!u",
    "example.org!foreign.test!u@example.test",
    "FOREIGN.TEST!u@example.org",
    # source routes: the last part is the destination
    "@example.test:u@foreign.test",
    "@example.test,@example.org:u@foreign.test",
    "@[127.0.0.1]:u@foreign.test",
    # quoted local parts hiding a route
    '"u@foreign.test"@example.test',
    '"u%foreign.test"@example.test',
    '"foreign.test!u"@example.test',
    '"u@foreign.test"',
    # IP literals
    "u@[192.0.2.1]",
    "u@[127.0.0.1]",
    "u@[IPv6:2001:db8::1]",
    "u@[IPv6:::1]",
    # trailing dots, case and look-alike domains
    "u@foreign.test.",
    "u@Foreign.Test",
    "u@example.test..",
    "u@example.test.foreign.test",
    "u@xexample.test",
    "u@example.tes",
    "u@example.test@foreign.test",
    "u@foreign.test@example.test",
    "u@@example.test",
    "@example.test",
    "u@",
    # no domain at all (only postmaster may omit it, RFC 5321 §4.5.1; and it is not ours to route)
    "u",
]

ACCEPTED = [
    "u@example.test",
    "U@EXAMPLE.TEST.",
    "u@Example.Org",
    "u@example.org.",
    "u%example.org@example.test",                   # percent hack with an internal destination
    "example.org!u@example.test",                   # bang path with an internal destination
    "@foreign.test:u@example.test",                 # source route ignored (RFC 5321 §3.6.1/C)
    "@foreign.test,@other.test:u@example.org",
]


@pytest.mark.parametrize("lst", ["inbound", "outbound"])
@pytest.mark.parametrize("rcpt", REFUSED)
def test_routing_trick_refused(gh, lst, rcpt):
    c = session(gh.port(lst), source=UNTRUSTED)
    try:
        m = c.cmd("MAIL FROM:<someone@foreign.test>")
        assert m.code == 250, str(m)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code // 100 == 5, f"RCPT TO:<{rcpt}> should be refused (5xx), got {r}"
    finally:
        c.quit()


@pytest.mark.parametrize("rcpt", REFUSED)
def test_routing_trick_not_relayed_from_trusted_with_foreign_sender(gh, rcpt):
    """Trusted network, foreign sender: a routed address must not sneak a foreign destination by."""
    c = session(gh.port("outbound"), source="127.0.0.1")
    try:
        m = c.cmd("MAIL FROM:<someone@foreign.test>")
        assert m.code == 250, str(m)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code // 100 == 5, f"RCPT TO:<{rcpt}> should be refused (5xx), got {r}"
    finally:
        c.quit()


@pytest.mark.parametrize("rcpt", ACCEPTED)
def test_routed_address_to_internal_destination_accepted(gh, rcpt):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m = c.cmd("MAIL FROM:<someone@foreign.test>")
        assert m.code == 250, str(m)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code == 250, f"RCPT TO:<{rcpt}> resolves to an internal domain, got {r}"
    finally:
        c.quit()


def test_case_and_trailing_dot_message_is_queued(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail("someone@foreign.test", ["U@EXAMPLE.TEST."])
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()
    assert r.queue_id in gh.queue_ids()


@pytest.mark.parametrize("sender", ["u%foreign.test@example.test", "foreign.test!u@example.test",
                                    "@example.test:u@foreign.test"])
def test_routed_sender_is_not_an_internal_sender(gh, sender):
    """Trusted network: a sender that only looks internal must not unlock foreign relay."""
    c = session(gh.port("outbound"), source="127.0.0.1")
    try:
        m = c.cmd(f"MAIL FROM:<{sender}>")
        if m.code == 250:
            r = c.cmd("RCPT TO:<bob@foreign.test>")
            assert r.code // 100 == 5, f"MAIL FROM:<{sender}> relayed to foreign: {r}"
        else:
            assert m.code // 100 == 5, str(m)
    finally:
        c.quit()


@pytest.mark.parametrize("rcpt", ["Postmaster", "postmaster", "POSTMASTER@example.test"])
def test_postmaster_accepted(gh, rcpt):
    """RFC 5321 §4.5.1: RCPT TO:<Postmaster> (no domain) MUST be accepted, case-insensitively."""
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m = c.cmd("MAIL FROM:<someone@foreign.test>")
        assert m.code == 250, str(m)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code == 250, f"RCPT TO:<{rcpt}>: {r}"
    finally:
        c.quit()
