"""Delivery durability: kill -9 in the middle of a 5,000-message delivery run.

Eight client threads inject 5,000 messages (each with its own Message-ID) while the queue
manager delivers them to a sink; Gatehouse is killed with SIGKILL at random moments of the run
and restarted on the same data directory (clients reconnect and resend what got no 250). In the
end every acknowledged message must have reached the sink at least once and the queue must be
empty. Duplicates (a delivery the crash kept from being recorded) are allowed and reported.

Set GATEHOUSE_E2E_SEED to replay a run's kill timing.
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
import warnings

import pytest

from deliverykit import dot_stuff, gateway, make_message, route_hosts, wait_queue_empty, wait_until
from harness import UNTRUSTED, CLIENT_NAME, ConnectionClosed, SMTPClient

MESSAGES = 5000
THREADS = 8
KILLS = 2
RCPT_DOMAIN = "example.org"


class Injector:
    """Client threads that send message i until it gets a 250, reconnecting through restarts."""

    def __init__(self, port: int, n: int, threads: int):
        self.port, self.n = port, n
        self.acked: set[int] = set()
        self.sent: collections.Counter[int] = collections.Counter()   # DATA sent, per message
        self.resent = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(range(t, n, threads),), daemon=True)
                        for t in range(threads)]

    @staticmethod
    def mid(i: int) -> str:
        return f"<durability.{i}@{CLIENT_NAME}>"

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout: float):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def run(self, indices):
        todo = list(indices)
        c = None
        tries = 0
        while todo:
            i = todo[0]
            rcpt = f"user{i % 50}@{RCPT_DOMAIN}"
            sender = f"sender{i % 7}@sender.test"
            try:
                if c is None:
                    c = SMTPClient(self.port, source=UNTRUSTED, timeout=20)
                    c.greet()
                    c.ehlo()
                m, rs = c.mail_rcpt(sender, [rcpt])
                if m.code != 250 or rs[0].code != 250:
                    raise ConnectionClosed(f"MAIL {m} / RCPT {rs}")
                if c.cmd("DATA").code != 354:
                    raise ConnectionClosed("DATA refused")
                with self.lock:
                    self.sent[i] += 1                      # from here on it may be queued
                c.send(dot_stuff(make_message(sender, [rcpt], f"durability {i}",
                                              message_id=self.mid(i))) + b".\r\n")
                r = c.reply(timeout=30)
                if r.code == 250:
                    with self.lock:
                        self.acked.add(i)
                    todo.pop(0)
                    tries = 0
                    continue
                raise ConnectionClosed(f"end of data: {r}")
            except (OSError, ConnectionClosed, AssertionError) as e:
                if c is not None:
                    c.close()
                c = None
                tries += 1
                with self.lock:
                    self.resent += 1
                if tries > 300:                            # ~60 s without success
                    with self.lock:
                        self.errors.append(f"message {i}: gave up: {e!r}")
                    return
                time.sleep(0.2)
        if c is not None:
            c.quit()


@pytest.mark.timeout(420)
def test_kill9_during_delivery_loses_nothing(gatehouse, sinks, tls_files):
    seed = int(os.environ.get("GATEHOUSE_E2E_SEED", time.time_ns() % 1_000_000))
    rnd = random.Random(seed)
    print(f"\nGATEHOUSE_E2E_SEED={seed}")
    sink = sinks()
    gh = gateway(gatehouse, [route_hosts([RCPT_DOMAIN, "sender.test"], [sink.address])],
                 tls_files=tls_files, concurrency=50, destination_concurrency=10,
                 connection_cache="2s", minimum_backoff="2s", maximum_backoff="5s")
    inj = Injector(gh.port("inbound"), MESSAGES, THREADS)
    t0 = time.monotonic()
    inj.start()

    kill_points = sorted(rnd.sample(range(MESSAGES // 10, MESSAGES * 7 // 10), KILLS))
    for k, at in enumerate(kill_points):
        wait_until(lambda: len(sink.transactions) >= at, 180,
                   lambda: f"{at} deliveries before kill #{k + 1} (have {len(sink.transactions)})")
        time.sleep(rnd.uniform(0, 0.2))
        delivered_then, acked_then = len(sink.transactions), len(inj.acked)
        gh.kill9()
        print(f"kill -9 #{k + 1} at {delivered_then} delivered / {acked_then} acknowledged "
              f"({time.monotonic() - t0:.1f}s)")
        time.sleep(rnd.uniform(0.1, 1.0))
        gh.start()

    assert inj.join(240), "the clients did not finish injecting"
    assert not inj.errors, inj.errors[:10]
    print(f"injected {len(inj.acked)} in {time.monotonic() - t0:.1f}s ({inj.resent} resends)")
    assert len(inj.acked) == MESSAGES

    wanted = {Injector.mid(i) for i in inj.acked}

    def missing():
        seen = {t.message_id for t in list(sink.transactions)}
        return wanted - seen
    wait_until(lambda: not missing(), 180,
               lambda: f"every acknowledged message at the sink; {len(missing())} missing, e.g. "
                       f"{sorted(missing())[:5]}", interval=1)
    wait_queue_empty(gh, timeout=60)
    elapsed = time.monotonic() - t0

    counts = collections.Counter(t.message_id for t in sink.transactions)
    dups = {m: c for m, c in counts.items() if c > 1}
    def index(t) -> int:
        return int(t.message_id.split(".", 1)[1].split("@", 1)[0])
    rcpt_ok = all(t.rcpt_tos == [f"user{index(t) % 50}@{RCPT_DOMAIN}"]
                  for t in sink.transactions if t.message_id in wanted)
    print(f"{MESSAGES} messages, {len(sink.transactions)} deliveries, {len(dups)} duplicated "
          f"({sum(dups.values()) - len(dups)} extra copies), 0 lost, {elapsed:.1f}s, "
          f"{len(sink.connections)} connections")
    sent_twice = {Injector.mid(i) for i, c in inj.sent.items() if c > 1}
    by_client = {m: c for m, c in dups.items() if m in sent_twice}
    by_gateway = {m: c for m, c in dups.items() if m not in sent_twice}
    if dups:
        summary = (f"{len(dups)} duplicated deliveries after kill -9: {len(by_gateway)} from one "
                   f"queue entry delivered twice (crash between delivery and bookkeeping), "
                   f"{len(by_client)} because the client resent a message whose 250 the crash "
                   f"swallowed")
        print(summary)
        print("duplicates (Message-ID: copies): " +
              ", ".join(f"{m}: {c}" for m, c in sorted(dups.items())[:20]))
        warnings.warn(summary)
    assert rcpt_ok, "a message reached the sink with the wrong recipient"
    assert not [t for t in sink.transactions if t.mail_from == ""], "unexpected bounces"
    check = gh.queue_check()
    assert check.returncode == 0, str(check)
