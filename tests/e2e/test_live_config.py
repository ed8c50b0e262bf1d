"""Live reconfiguration (SIGHUP), listener isolation and the disk-space guard.

* A new configuration version applies to new sessions; sessions in flight finish on the version
  they started with; a new listener is bound and a removed one closed, without a restart.
* A document that fails validation is refused and the running version stays.
* A flood that fills one listener's session limit does not stop another listener.
* Below `spool.minimum_free_space`, MAIL is answered 452 4.3.1 (never a 250 the disk cannot keep).
"""

from __future__ import annotations

import os
import signal
import time

from harness import (UNTRUSTED, SMTPClient, base_config, free_port, listener, session, simple_message,
                     to_yaml)


def reload(gh, config: dict) -> None:
    gh.config = config
    gh.config_path.write_text(to_yaml(config) + "\n")
    os.kill(gh.pid, signal.SIGHUP)


def wait_for_log(gh, text: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in gh.log_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"log never said {text!r}: {gh.log_tail(20)}")


def test_sighup_applies_new_version_to_new_sessions_only(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], internal=["example.test"], tls_files=tls_files)
    gh = gatehouse(cfg)
    old = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        m, rs = old.mail_rcpt("x@foreign.test", ["alice@example.org"])
        assert rs[0].code == 554, "example.org is not internal yet"
        old.cmd("RSET")

        new_port = free_port()
        cfg2 = base_config([listener("inbound", "inbound", port=gh.port("inbound")),
                            listener("second", "inbound", port=new_port)],
                           internal=["example.test", "example.org"], tls_files=tls_files, version=2)
        reload(gh, cfg2)
        wait_for_log(gh, "reloaded configuration version 2")

        # The session that started before the reload keeps its version.
        m, rs = old.mail_rcpt("x@foreign.test", ["alice@example.org"])
        assert rs[0].code == 554, f"session in flight switched versions: {rs[0]}"
    finally:
        old.close()

    # New sessions, on the old listener and on the new one, see the new version.
    for port in (gh.port("inbound"), new_port):
        c = session(port, source=UNTRUSTED)
        try:
            r = c.send_mail("x@foreign.test", ["alice@example.org"], simple_message("x@foreign.test", ["alice@example.org"]))
            assert r.code == 250, f"port {port}: {r}"
        finally:
            c.quit()

    # Removing the second listener closes it.
    cfg3 = dict(cfg2, version=3)
    cfg3["listeners"] = [cfg2["listeners"][0]]
    reload(gh, cfg3)
    wait_for_log(gh, "reloaded configuration version 3")
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            SMTPClient(new_port, source=UNTRUSTED, timeout=2).close()
        except OSError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("removed listener still accepts connections")


def test_invalid_reload_keeps_running_version(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], internal=["example.test"], tls_files=tls_files)
    gh = gatehouse(cfg)
    gh.config_path.write_text(to_yaml(cfg) + "\nbogus_key: 1\n")
    os.kill(gh.pid, signal.SIGHUP)
    wait_for_log(gh, "configuration reload refused")
    assert "bogus_key" in gh.log_text()
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.send_mail("x@foreign.test", ["alice@example.test"], simple_message("x@foreign.test", ["alice@example.test"]))
        assert r.code == 250, str(r)
    finally:
        c.quit()


def test_flood_on_one_listener_does_not_starve_another(gatehouse, tls_files):
    cfg = base_config([listener("flooded", "inbound", limits={"sessions": 5, "sessions_per_client": 100}),
                       listener("other", "inbound")], tls_files=tls_files)
    gh = gatehouse(cfg)
    held = []
    try:
        for _ in range(5):
            c = SMTPClient(gh.port("flooded"), source=UNTRUSTED)
            assert c.greet().code == 220
            held.append(c)
        extra = SMTPClient(gh.port("flooded"), source=UNTRUSTED)
        r = extra.reply(timeout=5)
        assert r.code == 421, f"sixth session on a full listener: {r}"
        extra.close()
        start = time.time()
        c = session(gh.port("other"), source=UNTRUSTED)
        try:
            r = c.send_mail("x@foreign.test", ["alice@example.test"], simple_message("x@foreign.test", ["alice@example.test"]))
            assert r.code == 250, str(r)
        finally:
            c.quit()
        assert time.time() - start < 5, "the other listener was slowed down by the flood"
    finally:
        for c in held:
            c.close()


def test_low_disk_space_tempfails_at_mail(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], tls_files=tls_files)
    cfg["spool"] = {"minimum_free_space": "1000000GB"}  # more than any test machine has free
    gh = gatehouse(cfg)
    time.sleep(0.5)  # the first space check runs at start
    c = session(gh.port("inbound"), source=UNTRUSTED)
    try:
        r = c.cmd("MAIL FROM:<x@foreign.test>")
        assert r.code == 452 and r.enhanced == "4.3.1", str(r)
    finally:
        c.close()
    assert gh.queue_ids() == set()
    assert "below minimum" in gh.log_text()
