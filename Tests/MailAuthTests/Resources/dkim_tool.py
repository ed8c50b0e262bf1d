#!/usr/bin/python3
"""dkim_tool.py — keys and DKIM signatures for the MailAuth integration tests, made by dkimpy
(Debian: python3-dkim, with python3-nacl for Ed25519) and python3-cryptography, an implementation
independent of ours.

Reads one JSON request on standard input and writes one JSON answer on standard output:

  request: {"keys": [{"name": "rsa", "type": "rsa", "bits": 2048} | {"name": "ed", "type": "ed25519"}],
            "jobs": [{"key": "rsa", "selector": "s", "domain": "example.test", "message": BASE64,
                      "canonicalize": "relaxed/simple", "headers": ["from", "to"] | null,
                      "algorithm": "rsa-sha256" | "rsa-sha1" | "ed25519-sha256", "length": false,
                      "identity": null | "joe@example.test", "time": null | UNIX, "expire": null | UNIX}]}
  answer:  {"keys": {"rsa": P_TAG_BASE64, ...}, "signed": [BASE64 of the signed message, ...]}

A job with "hops": [{"srv_id": "hop1.test", "results": "spf=pass smtp.mailfrom=a@b.test", "key": "rsa",
"selector": "s", "domain": "hop1.test"}, ...] is ARC-sealed instead, once per hop (needs
python3-authres).

RSA p= is the SubjectPublicKeyInfo DER (RFC 6376 §3.6.1); Ed25519 p= the raw 32-octet key
(RFC 8463 §4). "time" fixes t= (dkimpy reads time.time()); "expire" adds an x= tag, inserted
before b= so that dkimpy signs it like any other tag (dkimpy has no option for x=).
"""

import base64
import json
import sys
import time

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def make_key(spec):
    if spec["type"] == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=spec.get("bits", 2048))
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return private, base64.b64encode(public).decode()
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed), base64.b64encode(public).decode()


original_gen_header = dkim.DKIM.gen_header
real_time = time.time


def sign(job, private):
    message = base64.b64decode(job["message"])
    expire = job.get("expire")

    def gen_header(self, fields, *args, **kwargs):
        if expire is not None:
            index = [i for i, (name, _) in enumerate(fields) if name == b"b"][0]
            fields.insert(index, (b"x", str(expire).encode()))
        return original_gen_header(self, fields, *args, **kwargs)

    dkim.DKIM.gen_header = gen_header
    if job.get("time") is not None:
        time.time = lambda: float(job["time"])
    try:
        canon = job.get("canonicalize", "relaxed/simple").encode().split(b"/")
        headers = job.get("headers")
        signature = dkim.sign(
            message, job["selector"].encode(), job["domain"].encode(), private,
            identity=job["identity"].encode() if job.get("identity") else None,
            canonicalize=(canon[0], canon[1] if len(canon) > 1 else b"simple"),
            signature_algorithm=job.get("algorithm", "rsa-sha256").encode(),
            include_headers=[h.encode() for h in headers] if headers else None,
            length=bool(job.get("length")))
    finally:
        dkim.DKIM.gen_header = original_gen_header
        time.time = real_time
    return base64.b64encode(signature + message).decode()


def arc(job, private):
    """ARC-signs job["message"] once per hop: each hop first adds its Authentication-Results
    (authserv-id srv_id) and then dkim.arc_sign's three fields on top (RFC 8617 §5.1)."""
    message = base64.b64decode(job["message"])
    for hop in job["hops"]:
        message = ("Authentication-Results: %s; %s\r\n" % (hop["srv_id"], hop["results"])).encode() + message
        fields = dkim.arc_sign(message, hop["selector"].encode(), hop["domain"].encode(), private[hop["key"]],
                               hop["srv_id"].encode())
        if not fields:
            raise SystemExit("arc_sign made no ARC set for hop %s" % hop["srv_id"])
        message = b"".join(fields) + message
    return base64.b64encode(message).decode()


def main():
    request = json.load(sys.stdin)
    private = {}
    public = {}
    for spec in request.get("keys", []):
        private[spec["name"]], public[spec["name"]] = make_key(spec)
    signed = [arc(job, private) if "hops" in job else sign(job, private[job["key"]]) for job in request.get("jobs", [])]
    json.dump({"keys": public, "signed": signed}, sys.stdout)


if __name__ == "__main__":
    main()
