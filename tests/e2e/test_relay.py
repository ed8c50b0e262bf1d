"""DESIGN.md §5 relay control, row by row, against the real binary.

Relay decisions are made on who the client is (address in relay_networks, or authenticated
identity), never on the envelope sender. 127.0.0.1 is the trusted relay network of the outbound
listeners; 127.0.0.2 is an untrusted internet client.
"""

from __future__ import annotations

import smtplib

import pytest

from harness import (TRUSTED, UNTRUSTED, base_config, listener, session, simple_message, swaks,
                     client_tls_context, CLIENT_NAME)

ALICE = ("alice@example.test", "alice-Secret-1")
CAROL = ("carol", "carol Secret:2")          # a user whose name is not an address
CAROL_ADDRS = ["carol@example.org", "c.ext@example.test"]

FOREIGN_RCPT = "bob@foreign.test"
INTERNAL_RCPT = "bob@example.test"


@pytest.fixture(scope="module")
def gh(module_gatehouse, tls_files):
    cfg = base_config([
        listener("inbound", "inbound", tls="starttls"),
        # A trusted network on an inbound listener still never relays (role inbound: internal only).
        listener("inbound_trusted", "inbound", tls="starttls", relay_networks=["127.0.0.1/32"]),
        listener("outbound", "outbound", tls="starttls", relay_networks=["127.0.0.1/32"]),
        listener("outbound_open", "outbound", tls="starttls", relay_networks=["127.0.0.1/32"],
                 relay_foreign_senders=True),
        listener("application", "application", tls="none", relay_networks=["127.0.0.1/32"]),
        listener("submission", "submission", tls="starttls_required", auth="required"),
    ], tls_files=tls_files)
    server = module_gatehouse(cfg, start=False, name="relay")
    server.user_add(*ALICE)
    server.user_add(*CAROL, addresses=CAROL_ADDRS)
    server.start()
    return server


def rcpt_result(port: int, sender: str, rcpt: str, source: str):
    """(MAIL reply, RCPT reply or None) for one envelope, on a fresh session."""
    c = session(port, source=source)
    try:
        m, rs = c.mail_rcpt(sender, [rcpt])
        return m, (rs[0] if rs else None)
    finally:
        c.quit()


def assert_relay_denied(m, r, what: str):
    assert m.code == 250, f"{what}: MAIL should be accepted, the refusal belongs at RCPT: {m}"
    assert r is not None and r.code == 554 and r.enhanced == "5.7.1", \
        f"{what}: expected 554 5.7.1 relay access denied, got {r}"


# --- untrusted (internet) client ---------------------------------------------------------------

@pytest.mark.parametrize("sender", ["someone@foreign.test", "ceo@example.test", ""],
                         ids=["foreign-sender", "forged-internal-sender", "null-sender"])
def test_untrusted_to_internal_is_accepted_and_queued(gh, sender):
    before = gh.queue_ids()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail(sender, [INTERNAL_RCPT])
        assert r.code == 250 and r.enhanced == "2.0.0" and r.queue_id, f"end of DATA: {r}"
    finally:
        c.quit()
    after = {m["id"]: m for m in gh.queue_list()}
    assert r.queue_id in after and r.queue_id not in before
    msg = after[r.queue_id]
    assert msg["sender"] == sender or (sender == "" and msg["sender"] in ("<>",)), msg
    assert msg["recipients"] == [INTERNAL_RCPT]


@pytest.mark.parametrize("sender", ["someone@foreign.test", "alice@example.test", ""],
                         ids=["foreign-sender", "internal-sender", "null-sender"])
@pytest.mark.parametrize("lst", ["inbound", "outbound", "outbound_open", "application"])
def test_untrusted_to_foreign_is_denied(gh, lst, sender):
    m, r = rcpt_result(gh.port(lst), sender, FOREIGN_RCPT, UNTRUSTED)
    assert_relay_denied(m, r, f"{lst} untrusted <{sender}> -> <{FOREIGN_RCPT}>")


def test_untrusted_relay_denied_is_logged(gh):
    m, r = rcpt_result(gh.port("inbound"), "spammer@foreign.test", "victim@foreign.test", UNTRUSTED)
    assert_relay_denied(m, r, "inbound")
    log = gh.log_text()
    assert "NOQUEUE: reject: RCPT from" in log and "Relay access denied" in log, gh.log_tail()
    assert "to=<victim@foreign.test>" in log


def test_swaks_untrusted_foreign_denied(gh):
    s = swaks(gh.port("inbound"), "--from", "someone@foreign.test", "--to", FOREIGN_RCPT,
              "--quit-after", "RCPT", source=UNTRUSTED)
    assert s.returncode == 24, str(s)                 # 24 = no RCPTs accepted
    assert s.has_reply("554 5.7.1"), str(s)


@pytest.mark.parametrize("sender", ["someone@foreign.test", "ceo@example.test", "<>"])
def test_swaks_untrusted_internal_accepted(gh, sender):
    s = swaks(gh.port("inbound"), "--from", sender, "--to", INTERNAL_RCPT, source=UNTRUSTED)
    assert s.returncode == 0, str(s)
    assert any("queued as" in l for l in s.server_lines()), str(s)


def test_mixed_recipients_only_internal_queued(gh):
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = c.mail_rcpt("someone@foreign.test", ["x@example.test", FOREIGN_RCPT, "y@example.org"])
        assert m.code == 250
        assert [r.code for r in rs] == [250, 554, 250], [str(r) for r in rs]
        r = c.data(simple_message("someone@foreign.test", ["x@example.test"]))
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()
    msg = {m["id"]: m for m in gh.queue_list()}[r.queue_id]
    assert sorted(msg["recipients"]) == ["x@example.test", "y@example.org"]


# --- trusted relay network ---------------------------------------------------------------------

@pytest.mark.parametrize("lst", ["outbound", "outbound_open", "application"])
def test_trusted_internal_sender_to_foreign_accepted(gh, lst):
    m, r = rcpt_result(gh.port(lst), "alice@example.test", FOREIGN_RCPT, TRUSTED)
    assert m.code == 250 and r.code == 250, f"MAIL {m} / RCPT {r}"


def test_trusted_internal_sender_to_foreign_queued_smtplib(gh):
    with smtplib.SMTP("127.0.0.1", gh.port("outbound"), local_hostname=CLIENT_NAME, timeout=15,
                      source_address=(TRUSTED, 0)) as s:
        s.ehlo()
        s.starttls(context=client_tls_context())
        s.ehlo()
        refused = s.sendmail("alice@example.org", [FOREIGN_RCPT],
                             simple_message("alice@example.org", [FOREIGN_RCPT]))
        assert refused == {}
    assert any(m["recipients"] == [FOREIGN_RCPT] and m["sender"] == "alice@example.org"
               for m in gh.queue_list())


def test_trusted_foreign_sender_to_foreign_refused(gh):
    """A misconfigured open inner server must not turn the gateway into an open relay."""
    for lst in ("outbound", "application"):
        m, r = rcpt_result(gh.port(lst), "someone@foreign.test", FOREIGN_RCPT, TRUSTED)
        assert_relay_denied(m, r, f"{lst} trusted foreign->foreign")


def test_trusted_foreign_sender_to_foreign_allowed_when_listener_says_so(gh):
    m, r = rcpt_result(gh.port("outbound_open"), "someone@foreign.test", FOREIGN_RCPT, TRUSTED)
    assert m.code == 250 and r.code == 250, f"MAIL {m} / RCPT {r}"


def test_trusted_null_sender_to_foreign_accepted(gh):
    """Internal servers send their non-delivery reports to the internet with MAIL FROM:<>;
    the null sender is not a foreign sender (inference from §5: bounces must get through)."""
    m, r = rcpt_result(gh.port("outbound"), "", FOREIGN_RCPT, TRUSTED)
    assert m.code == 250 and r.code == 250, f"MAIL {m} / RCPT {r}"


def test_trusted_network_on_inbound_listener_never_relays(gh):
    m, r = rcpt_result(gh.port("inbound_trusted"), "alice@example.test", FOREIGN_RCPT, TRUSTED)
    assert_relay_denied(m, r, "inbound listener, trusted client")
    m, r = rcpt_result(gh.port("inbound_trusted"), "alice@example.test", INTERNAL_RCPT, TRUSTED)
    assert r.code == 250, str(r)


def test_swaks_trusted_relay(gh):
    ok = swaks(gh.port("outbound"), "-tls", "--from", "alice@example.test", "--to", FOREIGN_RCPT,
               source=TRUSTED)
    assert ok.returncode == 0, str(ok)
    bad = swaks(gh.port("outbound"), "-tls", "--from", "x@foreign.test", "--to", FOREIGN_RCPT,
                "--quit-after", "RCPT", source=TRUSTED)
    assert bad.returncode == 24 and bad.has_reply("554 5.7.1"), str(bad)


# --- authenticated users -----------------------------------------------------------------------

def submission(gh, user=ALICE) -> smtplib.SMTP:
    s = smtplib.SMTP("127.0.0.1", gh.port("submission"), local_hostname=CLIENT_NAME, timeout=15,
                     source_address=(UNTRUSTED, 0))
    s.ehlo()
    s.starttls(context=client_tls_context())
    s.ehlo()
    s.user, s.password = user
    code, resp = s.auth("PLAIN", s.auth_plain)
    assert code == 235, (code, resp)
    return s


@pytest.mark.parametrize("user,sender", [(ALICE, "alice@example.test"),
                                         (CAROL, "carol@example.org"),
                                         (CAROL, "c.ext@example.test")])
def test_authenticated_own_address_to_foreign_accepted(gh, user, sender):
    s = submission(gh, user)
    try:
        code, resp = s.mail(sender)
        assert code == 250, (code, resp)
        code, resp = s.rcpt(FOREIGN_RCPT)
        assert code == 250, (code, resp)
        code, resp = s.data(simple_message(sender, [FOREIGN_RCPT]))
        assert code == 250 and b"queued as" in resp, (code, resp)
    finally:
        s.quit()


@pytest.mark.parametrize("user,sender", [(ALICE, "bob@example.test"),
                                         (ALICE, "carol@example.org"),
                                         (ALICE, "alice@foreign.test"),
                                         (CAROL, "alice@example.test"),
                                         (CAROL, "carol@example.test")])
def test_authenticated_someone_elses_address_refused_at_mail(gh, user, sender):
    s = submission(gh, user)
    try:
        code, resp = s.mail(sender)
        assert code == 553 and resp.startswith(b"5.7.1"), (code, resp)
        code, resp = s.rcpt(INTERNAL_RCPT)
        assert code != 250, (code, resp)
    finally:
        s.quit()


def test_authenticated_case_of_own_address_does_not_matter(gh):
    s = submission(gh, ALICE)
    try:
        code, resp = s.mail("alice@EXAMPLE.TEST")
        assert code == 250, (code, resp)
    finally:
        s.quit()


def test_swaks_authenticated_relay(gh):
    ok = swaks(gh.port("submission"), "-tls", "--auth", "LOGIN", "--auth-user", ALICE[0],
               "--auth-password", ALICE[1], "--from", ALICE[0], "--to", FOREIGN_RCPT)
    assert ok.returncode == 0, str(ok)
    bad = swaks(gh.port("submission"), "-tls", "--auth", "PLAIN", "--auth-user", ALICE[0],
                "--auth-password", ALICE[1], "--from", "ceo@example.test", "--to", FOREIGN_RCPT,
                "--quit-after", "RCPT")
    assert bad.returncode == 23 and bad.has_reply("553 5.7.1"), str(bad)   # 23 = error at MAIL


def test_submission_without_auth_cannot_send(gh):
    c = session(gh.port("submission"), source=UNTRUSTED, tls=True)
    try:
        m = c.cmd("MAIL FROM:<alice@example.test>")
        assert m.code == 530 and m.enhanced == "5.7.0", f"MAIL without AUTH: {m}"
        r = c.cmd(f"RCPT TO:<{FOREIGN_RCPT}>")
        assert r.code >= 500, f"RCPT without AUTH: {r}"
    finally:
        c.quit()


# --- recipient validation ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def gh_recipients(module_gatehouse, tls_files, tmp_path_factory):
    rfile = tmp_path_factory.mktemp("rcpts") / "recipients.txt"
    rfile.write_text("bob@example.org\ncarol@example.test\n")
    cfg = base_config([listener("inbound", "inbound")], tls_files=tls_files,
                      recipients={"addresses": ["alice@example.test"], "file": str(rfile)})
    return module_gatehouse(cfg, name="recipients")


@pytest.mark.parametrize("rcpt", ["alice@example.test", "bob@example.org", "carol@example.test",
                                  "alice@EXAMPLE.test", "alice@example.test."])
def test_known_recipient_accepted(gh_recipients, rcpt):
    m, r = rcpt_result(gh_recipients.port("inbound"), "x@foreign.test", rcpt, UNTRUSTED)
    assert r is not None and r.code == 250, f"<{rcpt}>: {r}"


@pytest.mark.parametrize("rcpt", ["mallory@example.test", "alice@example.org", "bob@example.test"])
def test_unknown_recipient_550_511(gh_recipients, rcpt):
    m, r = rcpt_result(gh_recipients.port("inbound"), "x@foreign.test", rcpt, UNTRUSTED)
    assert r is not None and r.code == 550 and r.enhanced == "5.1.1", f"<{rcpt}>: {r}"


def test_recipient_validation_does_not_hide_relay_denial(gh_recipients):
    m, r = rcpt_result(gh_recipients.port("inbound"), "x@foreign.test", FOREIGN_RCPT, UNTRUSTED)
    assert_relay_denied(m, r, "foreign rcpt with a recipient list")


def test_null_sender_to_known_recipient(gh_recipients):
    """Inbound listeners must not block bounces by accident (DESIGN.md §5)."""
    c = session(gh_recipients.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail("", ["alice@example.test"])
        assert r.code == 250 and r.queue_id, str(r)
    finally:
        c.quit()


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@foreign.test", "postmaster@foreign.test", "noreply@foreign.test",
    "bounce+abc=alice=example.test@lists.foreign.test", "user+tag@foreign.test",
    "o'brien@foreign.test", '"quoted local"@foreign.test', "x@a.b.c.foreign.test",
    "SRS0=abcd=XY=foreign.test=user@forwarder.test", "UPPER@FOREIGN.TEST",
])
def test_inbound_accepts_generic_senders(gh, sender):
    """Inbound listeners must not block bounces or generic senders by accident (DESIGN.md §5)."""
    m, r = rcpt_result(gh.port("inbound"), sender, INTERNAL_RCPT, UNTRUSTED)
    assert m.code == 250, f"MAIL FROM:<{sender}>: {m}"
    assert r is not None and r.code == 250, f"RCPT after MAIL FROM:<{sender}>: {r}"
