#!/usr/bin/env python3
"""spam-buckets.py — the full engine's figures for other Bayes bucket scores, without rerunning.

Reads the per-message scores that `scripts/spam-crossval.sh --scores DIR` keeps (DIR/fold*.tsv:
class, file, rule score, probability, total, hits), and for every monotone choice of bucket scores
in a grid (BAYES_05 a third of BAYES_00, BAYES_20 and BAYES_40 0, BAYES_50 0.8, as in
Sources/SpamBayes/SpamEngine.swift) counts spam caught and ham misjudged at the threshold 5.0.
Prints the defaults' figures, then the most spam caught for each number of ham misjudged.
Scores chosen this way are chosen on the folds they are measured on (docs/spam.md).

Usage: scripts/spam-buckets.py DIR
"""

import glob
import itertools
import sys

BOUNDS = [0, 0.01, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99, 0.999]
DEFAULT = [-1.5, -0.5, 0, 0, 0.8, 2.0, 3.5, 4.5, 5.0, 5.0]


def load(folder):
    rows = []
    for path in sorted(glob.glob(folder + "/fold*.tsv")):
        for line in open(path, encoding="utf-8"):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                continue
            rows.append((fields[0] == "spam", float(fields[2]), None if fields[3] == "-" else float(fields[3])))
    return rows


def judge(rows, scores, threshold=5.0):
    caught = misjudged = 0
    for spam, rules, probability in rows:
        bayes = 0
        if probability is not None:
            bayes = scores[max(k for k, bound in enumerate(BOUNDS) if probability >= bound)]
        if rules + bayes >= threshold:
            if spam:
                caught += 1
            else:
                misjudged += 1
    return caught, misjudged


def main():
    rows = load(sys.argv[1])
    print("default %s: spam caught %d, ham misjudged %d" % ((DEFAULT,) + judge(rows, DEFAULT)))
    best = {}
    grid = itertools.product([-1, -1.5, -2, -3], [1, 1.5, 2, 2.5], [2, 2.5, 3, 3.5, 4], [3, 3.5, 4, 4.5, 5], [3.5, 4, 4.5, 5], [4.5, 5, 5.5])
    for b00, b60, b80, b95, b99, b999 in grid:
        if not b60 <= b80 <= b95 <= b99 <= b999:
            continue
        scores = [b00, b00 / 3, 0, 0, 0.8, b60, b80, b95, b99, b999]
        caught, misjudged = judge(rows, scores)
        if caught > best.get(misjudged, (0,))[0]:
            best[misjudged] = (caught, scores)
    for misjudged in sorted(best)[:6]:
        caught, scores = best[misjudged]
        print("ham misjudged %d: spam caught %d with %s" % (misjudged, caught, [round(x, 2) for x in scores]))


if __name__ == "__main__":
    main()
