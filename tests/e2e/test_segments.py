"""Segment files (docs/spool.md, "Segments"): small messages on their way through.

A message the queue manager takes at once is written into a segment file instead of a queue file
of its own. These tests check what an administrator sees of such messages and what happens when
they cannot be delivered at once: the message leaves its segment for a queue file before it waits
for a retry (and tries again when the disk refuses that copy), and `gatehouse queue hold` takes a
message out of its segment while it is being delivered.
"""

from __future__ import annotations

import os
import shutil

from deliverykit import (STATE_ACTIVE, STATE_DEFERRED, STATE_HOLD, gateway, queue_cmd, route_hosts, send,
                         state_of, wait_gone, wait_state, wait_until)

SENDER = "origin@sender.test"
ALICE = "alice@example.org"


def sink_routes(sink):
    return [route_hosts(["example.org", "sender.test"], [sink.address])]


def segment_files(gh) -> list[str]:
    return sorted(os.listdir(gh.data / "queue" / "segment"))


def classic_files(gh, state: str) -> list[str]:
    return sorted(os.listdir(gh.data / "queue" / state))


def test_a_delivered_message_needs_no_queue_file_of_its_own(gatehouse, tls_files, sinks):
    sink = sinks()
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    sink.wait_for(1)
    wait_gone(gh, qid)
    assert segment_files(gh), "the message should have gone through a segment file"
    for state in ("incoming", "active", "deferred"):
        assert not classic_files(gh, state), f"{state}/ should never have held it"
    assert "removed" in gh.log_text()


def test_a_deferred_message_leaves_its_segment_for_a_queue_file(gatehouse, tls_files, sinks):
    sink = sinks(rules={"*": "451 4.3.0 not yet"})
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, minimum_backoff="1h")
    qid = send(gh, SENDER, [ALICE])
    wait_state(gh, qid, STATE_DEFERRED)
    assert classic_files(gh, "deferred") == [qid]
    # Listed once, as deferred: the segment record was marked taken when the copy was made.
    assert [m["id"] for m in gh.queue_list()] == [qid]


def test_a_disk_refusing_the_copy_is_tried_again(gatehouse, tls_files, sinks):
    sink = sinks(rules={"*": "451 4.3.0 not yet"})
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files, minimum_backoff="1h")
    active = gh.data / "queue" / "active"
    # Make active/ unusable: the copy out of the segment (written, then renamed into active/) fails.
    shutil.rmtree(active)
    active.write_bytes(b"not a directory\n")
    try:
        qid = send(gh, SENDER, [ALICE])
        wait_until(lambda: "cannot write queue file" in gh.log_text(), 30, "the refused copy to be logged")
        # Nothing lost meanwhile: the message is still in its segment (`queue list` itself cannot
        # read a spool whose active/ is not a directory).
        assert segment_files(gh)
    finally:
        active.unlink()
        active.mkdir(mode=0o700)
    wait_state(gh, qid, STATE_DEFERRED, timeout=60)  # the bookkeeping is tried again after 30 s
    assert [m["id"] for m in gh.queue_list()] == [qid]
    assert gh.log_text().count("status=deferred") == 1, "the attempt must be logged once, not per try"


def test_hold_takes_a_message_out_of_its_segment_during_delivery(gatehouse, tls_files, sinks):
    sink = sinks()
    sink.delay = 2.0  # every reply: the attempt lasts several seconds
    gh = gateway(gatehouse, sink_routes(sink), tls_files=tls_files)
    qid = send(gh, SENDER, [ALICE])
    wait_until(lambda: sink.connections, 30, "the delivery attempt to start")
    assert state_of(gh, qid) == STATE_ACTIVE
    assert not classic_files(gh, "active"), "being delivered from its segment"
    queue_cmd(gh, "hold", qid)
    assert classic_files(gh, "hold") == [qid]
    # The attempt goes on and delivers; what it did is crossed off in the held copy, which stays.
    sink.wait_for(1, timeout=60)
    wait_until(lambda: "removed" in gh.log_text() or "during delivery" in gh.log_text(), 60,
               "the attempt's bookkeeping")
    assert state_of(gh, qid) in (STATE_HOLD, None)
    assert len(sink.transactions) == 1
