"""`gatehouse queue show|flush|retry|hold|release|delete` against a running gateway.

Deferred messages are made with a sink that answers 451 for "temp*" recipients; retries happen
only when the test asks (minimum_backoff is 1h in deliverykit.TEST_DELIVERY).
"""

from __future__ import annotations

import json
import time

import pytest

from deliverykit import (RCPT_PENDING, STATE_DEFERRED, STATE_HOLD, bounces_to, flush, gateway,
                         make_message, next_attempt, queue_cmd, recipients_status, route_hosts,
                         send, show, state_of, wait_gone, wait_state, wait_until)

SENDER = "origin@sender.test"
TEMP_REPLY = "451 4.3.0 mailbox busy, try later"


@pytest.fixture
def env(gatehouse, sinks, tls_files):
    sink = sinks(rules={"temp*": TEMP_REPLY})
    gh = gateway(gatehouse, [route_hosts(["example.org", "sender.test"], [sink.address])],
                 tls_files=tls_files)
    return gh, sink


def deferred(gh, sink, rcpt: str, subject: str = "deferred") -> str:
    """A message to `rcpt` (a temp* address) that has had one failed attempt."""
    qid = send(gh, SENDER, [rcpt], make_message(SENDER, [rcpt], subject))
    wait_until(lambda: sink.rcpt_attempts(rcpt), 30, f"a first attempt for {rcpt}")
    wait_state(gh, qid, STATE_DEFERRED)
    return qid


def attempts(sink, rcpt) -> int:
    return len(sink.rcpt_attempts(rcpt))


def test_show_a_deferred_message(env):
    gh, sink = env
    rcpt = "temp.show@example.org"
    qid = deferred(gh, sink, rcpt)
    d = show(gh, qid)
    assert d.get("id") == qid, d
    assert d.get("state") == STATE_DEFERRED, d
    assert d.get("sender") == SENDER or d.get("envelope", {}).get("sender") == SENDER, d
    st = recipients_status(d)
    assert st[rcpt]["status"] == RCPT_PENDING, st
    assert TEMP_REPLY in st[rcpt]["reason"], f"the last reason is the remote's reply: {st[rcpt]}"
    assert next_attempt(d) is not None, f"queue show should say when the next attempt is: {d}"
    plain = queue_cmd(gh, "show", qid)
    assert qid in plain.stdout and rcpt in plain.stdout and "451" in plain.stdout, str(plain)


def test_flush_retries_every_deferred_message(env):
    gh, sink = env
    a, b = "temp.flush.a@example.org", "temp.flush.b@example.org"
    qa, qb = deferred(gh, sink, a), deferred(gh, sink, b)
    time.sleep(1)
    assert attempts(sink, a) == 1 and attempts(sink, b) == 1, "retried without being asked"
    sink.rules = {}
    flush(gh)
    wait_gone(gh, qa)
    wait_gone(gh, qb)
    assert len(sink.received_by(a)) == 1 and len(sink.received_by(b)) == 1


def test_retry_only_the_named_messages(env):
    gh, sink = env
    a, b = "temp.retry.a@example.org", "temp.retry.b@example.org"
    qa, qb = deferred(gh, sink, a), deferred(gh, sink, b)
    sink.rules = {}
    queue_cmd(gh, "retry", qa)
    wait_gone(gh, qa)
    time.sleep(1.5)
    assert state_of(gh, qb) == STATE_DEFERRED and attempts(sink, b) == 1, \
        "`queue retry ID` retried another message too"
    queue_cmd(gh, "retry", qb)
    wait_gone(gh, qb)


def test_hold_and_release(env):
    gh, sink = env
    rcpt = "temp.hold@example.org"
    qid = deferred(gh, sink, rcpt)
    queue_cmd(gh, "hold", qid)
    wait_state(gh, qid, STATE_HOLD, timeout=10)
    plain = queue_cmd(gh, "list")
    assert qid + "!" in plain.stdout, f"mailq marks held messages with '!':\n{plain}"
    sink.rules = {}
    flush(gh)
    time.sleep(2)
    assert state_of(gh, qid) == STATE_HOLD and attempts(sink, rcpt) == 1, \
        "a held message was delivered"
    queue_cmd(gh, "release", qid)
    wait_until(lambda: state_of(gh, qid) != STATE_HOLD, 10, "the message to leave hold")
    flush(gh)
    wait_gone(gh, qid)
    assert len(sink.received_by(rcpt)) == 1


def test_delete(env):
    gh, sink = env
    rcpt = "temp.delete@example.org"
    qid = deferred(gh, sink, rcpt)
    queue_cmd(gh, "delete", qid)
    assert state_of(gh, qid) is None, "deleted message still listed"
    sink.rules = {}
    flush(gh)
    time.sleep(2)
    assert attempts(sink, rcpt) == 1 and not sink.received_by(rcpt), "a deleted message was delivered"
    assert not bounces_to(sink, SENDER), "deleting a message does not bounce it"
    assert queue_cmd(gh, "show", qid, check=False).returncode != 0


def test_several_ids_in_one_command(env):
    gh, sink = env
    ids = [deferred(gh, sink, f"temp.multi{i}@example.org") for i in range(3)]
    queue_cmd(gh, "hold", *ids)
    for q in ids:
        wait_state(gh, q, STATE_HOLD, timeout=10)
    queue_cmd(gh, "release", *ids[:2])
    queue_cmd(gh, "delete", ids[2])
    sink.rules = {}
    flush(gh)
    for q in ids:
        wait_gone(gh, q)
    assert len(sink.received_by("temp.multi0@example.org")) == 1
    assert len(sink.received_by("temp.multi1@example.org")) == 1
    assert not sink.received_by("temp.multi2@example.org")


def test_every_queue_command_takes_json(env):
    gh, sink = env
    qid = deferred(gh, sink, "temp.json@example.org")
    problems = []
    for verb, args in [("list", []), ("show", [qid]), ("hold", [qid]), ("release", [qid]),
                       ("retry", [qid]), ("flush", []), ("delete", [qid])]:
        r = queue_cmd(gh, verb, *args, check=False, json_out=True)
        if r.returncode != 0:
            problems.append(f"`queue {verb} --json`: exit {r.returncode}: {r.stderr.strip()[:200]}")
            queue_cmd(gh, verb, *args, check=False)      # keep the sequence going without --json
        elif r.stdout.strip():
            try:
                json.loads(r.stdout)
            except json.JSONDecodeError as e:
                problems.append(f"`queue {verb} --json` printed something else ({e}): {r.stdout[:200]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("verb", ["show", "hold", "release", "delete", "retry"])
def test_unknown_id_is_an_error(env, verb):
    gh, _ = env
    r = queue_cmd(gh, verb, "0000000000000ZZZ", check=False)
    assert r.returncode != 0, f"`queue {verb}` of an unknown id succeeded\n{r}"
    assert "0000000000000ZZZ" in r.stdout + r.stderr, str(r)


def test_hold_and_delete_while_the_gateway_is_stopped(env):
    gh, sink = env
    a, b = "temp.offline.a@example.org", "temp.offline.b@example.org"
    qa, qb = deferred(gh, sink, a), deferred(gh, sink, b)
    gh.stop()
    queue_cmd(gh, "hold", qa)
    queue_cmd(gh, "delete", qb)
    sink.rules = {}
    gh.start()
    flush(gh)
    time.sleep(2)
    assert state_of(gh, qa) == STATE_HOLD and state_of(gh, qb) is None
    assert not sink.received_by(a) and not sink.received_by(b)
    queue_cmd(gh, "release", qa)
    flush(gh)
    wait_gone(gh, qa)
    assert len(sink.received_by(a)) == 1 and not sink.received_by(b)


def test_deferred_messages_survive_a_restart(env):
    gh, sink = env
    rcpt = "temp.restart@example.org"
    qid = deferred(gh, sink, rcpt)
    gh.restart()
    assert state_of(gh, qid) == STATE_DEFERRED
    st = recipients_status(show(gh, qid))
    assert st[rcpt]["status"] == RCPT_PENDING and "451" in st[rcpt]["reason"], st
    sink.rules = {}
    flush(gh)
    wait_gone(gh, qid)
