"""Configuration errors are refused at start, with a message that names the offending key.

Also: the documented example configuration (unquoted YAML, as an administrator writes it) starts.
"""

from __future__ import annotations

import subprocess

import pytest

from harness import Gatehouse, base_config, free_port, listener, session, to_yaml


def start_and_expect_refusal(gatehouse, text: str, *needles: str):
    server = gatehouse(text, start=False)
    p = subprocess.run(server.serve_args(), cwd=server.workdir, capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"gatehouse started with a bad configuration:\n{text}\n{out}"
    for needle in needles:
        assert needle in out, f"the error should name {needle!r}:\n{out}"
    return out


def good_config() -> dict:
    return base_config([listener("inbound", "inbound", tls="none")])


def with_listener_key(key: str, value) -> str:
    cfg = good_config()
    cfg["listeners"][0][key] = value
    return to_yaml(cfg) + "\n"


UNKNOWN_KEYS = [
    ("top-level", lambda c: c.update({"nodes": {"hostname": "x"}}), "nodes"),
    ("node", lambda c: c["node"].update({"host_name": "x"}), "host_name"),
    ("domains", lambda c: c["domains"].update({"internals": ["x.test"]}), "internals"),
    ("spool", lambda c: c["spool"].update({"minimum_free": "1MB"}), "minimum_free"),
    ("listener", lambda c: c["listeners"][0].update({"tls_mode": "starttls"}), "tls_mode"),
    ("limits", lambda c: c["listeners"][0].update({"limits": {"max_sessions": 5}}), "max_sessions"),
    ("camelCase", lambda c: c["listeners"][0].update({"proxyProtocol": True}), "proxyProtocol"),
    ("recipients", lambda c: c.update({"recipients": {"adresses": ["a@example.test"]}}), "adresses"),
    ("tls", lambda c: c.update({"tls": {"cert": "/x.pem", "key": "/y.pem"}}), "cert"),
]


@pytest.mark.parametrize("where,mutate,key", UNKNOWN_KEYS, ids=[u[0] for u in UNKNOWN_KEYS])
def test_unknown_key_refused(gatehouse, where, mutate, key):
    cfg = good_config()
    mutate(cfg)
    start_and_expect_refusal(gatehouse, to_yaml(cfg) + "\n", key)


BAD_VALUES = [
    ("role", "relay"),
    ("tls", "maybe"),
    ("auth", "sometimes"),
    ("address", "127.0.0.1:99999"),
    ("address", "not-an-address"),
    ("allow", ["300.1.1.1/8"]),
    ("deny", ["10.0.0.0/33"]),
    ("relay_networks", ["2001:db8::/129"]),
    ("balancers", ["banana"]),
    ("proxy_protocol", "perhaps"),
    ("limits", {"message_size": "lots"}),
    ("limits", {"command_timeout": "soon"}),
    ("limits", {"sessions": -1}),
    ("limits", {"recipients": "many"}),
]


@pytest.mark.parametrize("key,value", BAD_VALUES, ids=[f"{k}={v}" for k, v in BAD_VALUES])
def test_bad_listener_value_refused(gatehouse, key, value):
    named = next(iter(value)) if isinstance(value, dict) else key
    start_and_expect_refusal(gatehouse, with_listener_key(key, value), named)


def test_bad_minimum_free_space_refused(gatehouse):
    cfg = good_config()
    cfg["spool"]["minimum_free_space"] = "plenty"
    start_and_expect_refusal(gatehouse, to_yaml(cfg) + "\n", "minimum_free_space")


def test_missing_tls_files_refused(gatehouse, tmp_path):
    cfg = good_config()
    cfg["tls"] = {"certificate": str(tmp_path / "missing-cert.pem"), "key": str(tmp_path / "missing-key.pem")}
    start_and_expect_refusal(gatehouse, to_yaml(cfg) + "\n", "missing-cert.pem")


def test_duplicate_listener_address_refused(gatehouse):
    port = free_port()
    cfg = base_config([listener("a", "inbound", tls="none", port=port),
                       listener("b", "outbound", tls="none", port=port)])
    start_and_expect_refusal(gatehouse, to_yaml(cfg) + "\n")


def test_not_yaml_refused(gatehouse):
    start_and_expect_refusal(gatehouse, "node: [unclosed\n  hostname: :\n")


def test_missing_config_file_refused(gatehouse, tmp_path):
    server = gatehouse(None, start=False)
    p = subprocess.run([str(server.binary), "serve", "--config", str(tmp_path / "nope.yaml"),
                        "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "nope.yaml" in p.stdout + p.stderr


def test_documented_example_config_starts(gatehouse, tmp_path):
    """The example from the configuration reference, verbatim apart from the ports and paths:
    unquoted scalars such as `auth: off` must read as the strings they look like."""
    p1, p2 = free_port(), free_port()
    rfile = tmp_path / "rcpts.txt"
    rfile.write_text("bob@example.test\n")
    text = f"""\
node:
  hostname: mx.example.test          # greeting and Received: name
domains:
  internal: [example.test, example.org]
recipients:
  addresses: [alice@example.test]
  file: {rfile}
spool:
  minimum_free_space: 100MB
listeners:
  - name: inbound
    role: inbound
    address: 127.0.0.1:{p1}
    tls: starttls
    auth: off
    proxy_protocol: false
    balancers: [127.0.0.2/32]
    allow: []
    deny: []
    exempt: []
    relay_networks: []
    relay_foreign_senders: false
    limits:
      sessions: 1000
      sessions_per_client: 50
      connections_per_minute_per_client: 600
      messages_per_minute_per_client: 6000
      message_size: 50MB
      recipients: 100
      command_timeout: 300s
      data_timeout: 600s
      errors: 10
  - name: submission
    role: submission
    address: 127.0.0.1:{p2}
    tls: starttls_required
    auth: required
"""
    server = gatehouse(text, start=False)
    server.start(ports=[(p1, False), (p2, False)])
    c = session(p1, source="127.0.0.2")
    try:
        g = c.last_ehlo
        assert "STARTTLS" in g.keywords and "AUTH" not in g.keywords, str(g)
        m, rs = c.mail_rcpt("x@foreign.test", ["alice@example.test", "bob@example.test",
                                               "carol@example.test"])
        assert [r.code for r in rs] == [250, 250, 550], [str(r) for r in rs]
    finally:
        c.quit()
    c = session(p2, source="127.0.0.2", tls=True)
    try:
        assert "AUTH" in c.last_ehlo.keywords, str(c.last_ehlo)
    finally:
        c.quit()


def test_greeting_names_the_node(gatehouse, tls_files):
    cfg = base_config([listener("inbound", "inbound")], hostname="gw7.example.test", tls_files=tls_files)
    server = gatehouse(cfg)
    c = session(server.port("inbound"), source="127.0.0.2")
    try:
        assert c.greeting.lines[0].startswith("220 gw7.example.test"), str(c.greeting)
        assert c.last_ehlo.lines[0][4:].startswith("gw7.example.test"), str(c.last_ehlo)
    finally:
        c.quit()
    assert "listening" in server.log_text(), server.log_tail()
