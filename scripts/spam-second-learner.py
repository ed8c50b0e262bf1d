#!/usr/bin/env python3
"""spam-second-learner.py — would a second, different learner beside Bayes catch more spam?

Trains online logistic regression (binary features, each message's vector scaled to unit length,
Goodman and Yih, "Online Discriminative Spam Filter Training", CEAS 2006; Sculley and Wachman,
SIGIR 2007) on the tokens of `gatehouse spam tokens` and on the character 4-grams of those tokens
joined by spaces (hashed into 2^20 weights), with the folds of scripts/spam-crossval.sh (md5 of
the file name mod K). Prints the learner alone (spam missed when at most 0, 2 and 5 ham may pass
the line), then, from the per-message scores that `scripts/spam-crossval.sh --scores DIR` kept,
the full engine with a score for the learner's probability added: the most spam caught for each
number of ham misjudged over a grid of monotone scores. That grid is chosen on the folds it is
measured on, so its figure is an upper bound of what the second learner could add.

Usage:
  gatehouse spam tokens ../shared/corpus/spam > spam.tsv
  gatehouse spam tokens ../shared/corpus/ham > ham.tsv
  scripts/spam-crossval.sh --bin .build/debug/gatehouse --no-sa --scores DIR
  scripts/spam-second-learner.py spam.tsv ham.tsv DIR [--features tokens|grams|both] [--rate 2] [--passes 10]
"""
import argparse
import glob
import hashlib
import itertools
import math
import random
import zlib

BITS = 20
BOUNDS = [0.1, 0.3, 0.7, 0.9, 0.97]


def load(path, is_spam):
    for line in open(path, encoding="utf-8", errors="replace"):
        fields = line.rstrip("\n").split("\t")
        yield fields[0].rsplit("/", 1)[-1], is_spam, fields[1:]


def features(tokens, kind):
    mask = (1 << BITS) - 1
    out = set()
    if kind in ("tokens", "both"):
        out.update(zlib.crc32(b"t" + t.encode()) & mask for t in tokens)
    if kind in ("grams", "both"):
        text = " ".join(tokens).encode()
        out.update(zlib.crc32(b"c" + text[i:i + 4]) & mask for i in range(len(text) - 3))
    return list(out)


def probability(weights, x):
    if not x:
        return 0.5
    z = sum(weights.get(i, 0.0) for i in x) / math.sqrt(len(x))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spam")
    p.add_argument("ham")
    p.add_argument("scores", help="the --scores folder of scripts/spam-crossval.sh")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--features", default="both", choices=["tokens", "grams", "both"])
    p.add_argument("--rate", type=float, default=2.0)
    p.add_argument("--passes", type=int, default=10)
    a = p.parse_args()
    docs = list(load(a.spam, True)) + list(load(a.ham, False))
    vectors = [features(tokens, a.features) for _, _, tokens in docs]
    folds = [int(hashlib.md5(name.encode()).hexdigest()[:8], 16) % a.folds for name, _, _ in docs]
    learned = {}
    shuffle = random.Random(1)
    for k in range(a.folds):
        weights = {}
        train = [i for i, f in enumerate(folds) if f != k]
        for _ in range(a.passes):
            shuffle.shuffle(train)
            for i in train:
                x = vectors[i]
                if not x:
                    continue
                step = a.rate * ((1.0 if docs[i][1] else 0.0) - probability(weights, x)) / math.sqrt(len(x))
                for j in x:
                    weights[j] = weights.get(j, 0.0) + step
        for i, f in enumerate(folds):
            if f == k:
                learned[docs[i][0]] = probability(weights, vectors[i])
    spam_p = sorted(learned[n] for n, s, _ in docs if s)
    ham_p = sorted((learned[n] for n, s, _ in docs if not s), reverse=True)
    print("learner alone: " + "; ".join(
        "ham over <= %d: %d spam missed" % (allowed, sum(1 for q in spam_p if q <= ham_p[allowed]))
        for allowed in (0, 2, 5)))

    rows = []
    for path in sorted(glob.glob(a.scores + "/fold*.tsv")):
        for line in open(path, encoding="utf-8"):
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 5:
                rows.append((fields[0] == "spam", learned[fields[1]], float(fields[4])))
    base = {}
    for spam, _, total in rows:
        if total >= 5:
            base[spam] = base.get(spam, 0) + 1
    print("full engine: %d spam caught, %d ham misjudged" % (base.get(True, 0), base.get(False, 0)))
    best = {}
    for scores in itertools.product([-1.5, -1, -0.5, 0], [-0.5, 0], [0, 0.5], [0.5, 1, 1.5], [1, 2, 3], [2, 3, 4]):
        if any(scores[i] > scores[i + 1] for i in range(len(scores) - 1)):
            continue
        def added(q):
            return next((s for bound, s in zip(BOUNDS, scores) if q < bound), scores[-1])
        caught = sum(1 for spam, q, total in rows if spam and round(total + added(q), 3) >= 5)
        misjudged = sum(1 for spam, q, total in rows if not spam and round(total + added(q), 3) >= 5)
        if misjudged <= 5 and caught > best.get(misjudged, (0,))[0]:
            best[misjudged] = (caught, scores)
    for misjudged in sorted(best):
        caught, scores = best[misjudged]
        print("full engine + learner, %d ham misjudged: %d spam caught (scores %s for bounds %s)"
              % (misjudged, caught, scores, BOUNDS))


if __name__ == "__main__":
    main()
