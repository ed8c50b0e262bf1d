"""Durability: a 250 reply means the message is on stable storage (DESIGN.md §4).

Several client threads send mail in a loop and record every queue id they get in a 250 reply;
the server is killed with SIGKILL at random moments and restarted on the same data directory.
After the last restart every acknowledged id must be listed by `gatehouse queue list --json`
with the envelope it was sent with, and `gatehouse queue check` must pass. Zero lost.

Set GATEHOUSE_E2E_SEED to replay a run's kill timing.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from harness import UNTRUSTED, ConnectionClosed, SMTPClient, base_config, listener

ROUNDS = 5
THREADS = 4
ACKS_PER_ROUND = 50
ROUND_DEADLINE = 40.0
HIGH_LIMITS = {"messages_per_minute_per_client": 1000000,
               "connections_per_minute_per_client": 1000000,
               "sessions_per_client": 1000}


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked: dict[str, tuple[str, str]] = {}      # queue id -> (sender, recipient)
        self.duplicates: list[str] = []
        self.errors: list[str] = []

    def ack(self, qid: str, sender: str, rcpt: str):
        with self.lock:
            if qid in self.acked:
                self.duplicates.append(qid)
            self.acked[qid] = (sender, rcpt)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def worker(port: int, tag: str, stop: threading.Event, ledger: Ledger):
    n = 0
    while not stop.is_set():
        try:
            c = SMTPClient(port, source=UNTRUSTED, timeout=10)
        except OSError:
            time.sleep(0.05)
            continue
        try:
            c.greet()
            c.ehlo()
            while not stop.is_set():
                n += 1
                sender = f"{tag}.n{n}@foreign.test"
                rcpt = f"user{n % 7}@example.test"
                body = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: durability {tag} {n}\r\n\r\n"
                        + "payload line\r\n" * (1 + n % 40)).encode()
                m = c.cmd(f"MAIL FROM:<{sender}>")
                if m.code != 250:
                    break
                if c.cmd(f"RCPT TO:<{rcpt}>").code != 250:
                    break
                if c.cmd("DATA").code != 354:
                    break
                c.send(body + b".\r\n")
                r = c.reply(timeout=30)
                if r.code == 250:
                    assert r.queue_id, f"250 without a queue id: {r}"
                    ledger.ack(r.queue_id, sender, rcpt)
                elif r.code // 100 == 5:
                    with ledger.lock:
                        ledger.errors.append(f"{sender}: {r}")
        except (ConnectionClosed, OSError, AssertionError) as e:
            if isinstance(e, AssertionError):
                with ledger.lock:
                    ledger.errors.append(str(e))
        finally:
            c.close()


@pytest.mark.timeout(900)
def test_no_acknowledged_message_lost_across_kill9(gatehouse, tls_files):
    seed = int(os.environ.get("GATEHOUSE_E2E_SEED", time.time_ns() % 1_000_000))
    rnd = random.Random(seed)
    print(f"\nGATEHOUSE_E2E_SEED={seed}")
    cfg = base_config([listener("inbound", "inbound", tls="starttls", limits=HIGH_LIMITS)],
                      tls_files=tls_files)
    server = gatehouse(cfg)
    port = server.port("inbound")
    ledger = Ledger()

    for rnd_no in range(ROUNDS):
        if rnd_no:
            server.start()
        at_start = ledger.count()
        stop = threading.Event()
        threads = [threading.Thread(target=worker, args=(port, f"r{rnd_no}t{i}", stop, ledger),
                                    daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + ROUND_DEADLINE
        target = rnd.randint(ACKS_PER_ROUND // 2, ACKS_PER_ROUND * 3 // 2)
        while ledger.count() - at_start < target and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0, 0.25))           # land the kill at an arbitrary point
        server.kill9()
        stop.set()
        for t in threads:
            t.join(15)
        print(f"round {rnd_no + 1}: {ledger.count() - at_start} acknowledged before kill -9")

    server.start()
    assert not ledger.errors, "\n".join(ledger.errors[:20])
    assert not ledger.duplicates, f"queue ids handed out twice: {ledger.duplicates[:20]}"
    total = ledger.count()
    assert total >= ROUNDS * 10, f"only {total} messages acknowledged in {ROUNDS} rounds"

    listed = {m["id"]: m for m in server.queue_list()}
    missing = sorted(set(ledger.acked) - set(listed))
    assert not missing, f"{len(missing)} of {total} acknowledged messages lost: {missing[:20]}"
    wrong = [(qid, ledger.acked[qid], listed[qid]) for qid in ledger.acked
             if listed[qid].get("sender") != ledger.acked[qid][0]
             or listed[qid].get("recipients") != [ledger.acked[qid][1]]]
    assert not wrong, f"envelopes changed: {wrong[:5]}"
    print(f"{total} acknowledged, {len(listed)} listed, 0 lost")

    check = server.queue_check()
    assert check.returncode == 0, str(check)
    server.stop()
    check = server.queue_check()
    assert check.returncode == 0, str(check)


@pytest.mark.timeout(180)
def test_kill9_during_data_leaves_no_message_and_a_clean_queue(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound", limits={"message_size": "50MB"})],
                      tls_files=tls_files)
    server = gatehouse(cfg)
    port = server.port("inbound")
    c = SMTPClient(port, source=UNTRUSTED, timeout=30)
    c.greet()
    c.ehlo()
    assert c.cmd("MAIL FROM:<half-sent@foreign.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"Subject: interrupted\r\n\r\n" + (b"y" * 900 + b"\r\n") * 4000)
    time.sleep(0.5)
    server.kill9()
    c.close()
    server.start()
    senders = [m["sender"] for m in server.queue_list()]
    assert "half-sent@foreign.test" not in senders, "a message that was never acknowledged is queued"
    check = server.queue_check()
    assert check.returncode == 0, str(check)


@pytest.mark.timeout(180)
def test_sigterm_is_graceful_and_keeps_every_message(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], tls_files=tls_files)
    server = gatehouse(cfg)
    acked = []
    c = SMTPClient(server.port("inbound"), source=UNTRUSTED)
    c.greet()
    c.ehlo()
    for i in range(10):
        m = c.cmd(f"MAIL FROM:<t{i}@foreign.test>")
        assert m.code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {i}\r\n\r\nbody\r\n.\r\n".encode())
        r = c.reply()
        assert r.code == 250 and r.queue_id
        acked.append(r.queue_id)
    c.quit()
    t0 = time.monotonic()
    rc = server.stop(timeout=20)
    assert rc == 0, f"gatehouse exited with {rc} on SIGTERM"
    assert time.monotonic() - t0 < 15, "SIGTERM took too long"
    assert set(acked) <= server.queue_ids()
    assert server.queue_check().returncode == 0
    server.start()
    assert set(acked) <= server.queue_ids()
