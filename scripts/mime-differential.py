#!/usr/bin/env python3
"""Differential check of the Swift MIME engine against Python's email package.

Usage:
  scripts/mime-differential.py [--dump PATH_TO_mime-dump] [--pin N] [--verbose] FILE_OR_DIR...

Runs `mime-dump` (the dump executable of the developers' MIME package, see docs/mime.md) over the
messages, parses the same bytes with `email.message_from_bytes(policy=compat32)`, and compares,
entity by entity in document order, the MIME tree as written: depth, content type and primary
filename. Alternative readings, uuencoded files and archive entries (which Python does not
produce) are left out of the comparison. Every difference is classified; the known, intentional
ones are listed in docs/mime.md, and any other kind makes the exit status 1.

--pin N writes Tests/MIMETests/Fixtures/corpus-structure.txt from every Nth multipart message (and
every 20*Nth single-part one) on which the two agree (the structure test pins the Swift side to it).
"""
import email, email.header, email.policy, json, os, subprocess, sys
from collections import Counter

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def decode_words(s):
    if s is None:
        return None
    try:
        out = []
        for text, cs in email.header.decode_header(s):
            if isinstance(text, bytes):
                text = text.decode(cs or "utf-8", "replace")
            out.append(text)
        return "".join(out)
    except Exception:
        return s


def python_parts(data):
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    parts = []

    def walk(m, depth):
        fn = m.get_filename()
        if fn is not None:
            fn = decode_words(str(fn)).strip()
        parts.append((depth, m.get_content_type(), fn or None))
        payload = m.get_payload()
        if m.is_multipart() and isinstance(payload, list):
            for sub in payload:
                walk(sub, depth + 1)

    walk(msg, 0)
    return parts


def swift_parts(doc):
    out = []
    for p in doc["parts"]:
        if p["origin"] != "mime":
            continue
        fn = p["filenames"][0].strip() if p["filenames"] else None
        depth = 0
        q = p
        while q["parent"] is not None:
            depth += 1
            q = doc["parts"][q["parent"]]
        out.append((depth, p["type"], fn or None))
    return out


def classify(py, sw, doc):
    if len(py) != len(sw):
        defects = set(doc["defects"])
        if "missing-boundary" in defects:
            return "multipart without boundary (Swift: leaf)"
        if "no-start-boundary" in defects:
            return "multipart without delimiter (Swift: scanned as text leaf)"
        if "boundary-prefix-line" in defects:
            return "boundary prefix line"
        if "header-not-ended-by-empty-line" in defects:
            return "header ended by non-header line"
        if any(t in ("message/delivery-status", "message/external-body") for _, t, _ in py):
            return "message/delivery-status, external-body: Python splits the body into header blocks"
        if "nested-boundary-prefix" in defects:
            return "nested multipart reuses an enclosing boundary (ambiguity, flagged)"
        if "encoding-domain" in defects:
            return "encoded message/rfc822 (Swift: leaf plus decoded reading)"
        return "part count"
    for (pd, pt, pf), (sd, st, sf) in zip(py, sw):
        if pt != st:
            return "content type"
        if pf != sf:
            if pf and sf and pf.replace("\n", "").replace("\r", "") == sf.replace("\r\n", ""):
                continue
            return "filename"
        if pd != sd:
            return "depth"
    return None


def main(argv):
    dump = os.path.join(os.path.expanduser("/work/mime-dev"), ".build", "release", "mime-dump")
    pin = 0
    verbose = False
    paths = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--dump":
            dump = argv[i + 1]; i += 2; continue
        if a == "--pin":
            pin = int(argv[i + 1]); i += 2; continue
        if a == "--verbose":
            verbose = True; i += 1; continue
        paths.append(a); i += 1
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p))
        else:
            files.append(p)
    docs = {}
    for k in range(0, len(files), 200):
        out = subprocess.run([dump] + files[k:k + 200], capture_output=True, check=True).stdout.decode()
        for line in out.splitlines():
            d = json.loads(line)
            docs[d["file"]] = d
    kinds = Counter()
    examples = {}
    agree = []
    for f in files:
        data = open(f, "rb").read()
        try:
            py = python_parts(data)
        except Exception as e:  # Python itself failed
            kinds["python error"] += 1
            examples.setdefault("python error", f)
            continue
        sw = swift_parts(docs[f])
        kind = classify(py, sw, docs[f])
        if kind:
            kinds[kind] += 1
            examples.setdefault(kind, f)
            if verbose:
                print(f, kind, "\n  py:", py, "\n  sw:", sw)
        else:
            agree.append((f, sw))
    print("messages: %d, identical structure: %d" % (len(files), len(agree)))
    for kind, n in kinds.most_common():
        print("  %-60s %5d   e.g. %s" % (kind, n, examples[kind]))
    if pin:
        shared = os.path.normpath(os.path.join(ROOT, "..", "shared"))
        lines = []
        multi = [a for a in agree if len(a[1]) > 1]
        single = [a for a in agree if len(a[1]) == 1]
        for f, sw in multi[::pin] + single[::pin * 20]:
            rel = os.path.relpath(os.path.realpath(f), os.path.realpath(shared))
            sig = " ".join("%d:%s" % (d, t) + ("[%s]" % fn if fn else "") for d, t, fn in sw)
            lines.append(rel + "\t" + sig)
        with open(os.path.join(ROOT, "Tests", "MIMETests", "Fixtures", "corpus-structure.txt"), "w") as out:
            out.write("\n".join(lines) + "\n")
        print("pinned %d messages" % len(lines))
    documented = {
        "multipart without boundary (Swift: leaf)", "multipart without delimiter (Swift: scanned as text leaf)",
        "boundary prefix line", "header ended by non-header line",
        "encoded message/rfc822 (Swift: leaf plus decoded reading)", "python error",
        "message/delivery-status, external-body: Python splits the body into header blocks",
        "nested multipart reuses an enclosing boundary (ambiguity, flagged)",
    }
    return 1 if any(k not in documented for k in kinds) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
