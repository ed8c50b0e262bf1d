#!/usr/bin/env bash
# spam-crossval.sh — k-fold cross-validation of the full spam engine (rules + Bayes), with
# SpamAssassin (Bayes trained on the same folds, network tests off) side by side.
#
# Usage: scripts/spam-crossval.sh [--corpus DIR] [--folds K] [--no-sa] [--sa-sample N] [--keep]
#                                 [--bin PATH] [-- extra `gatehouse spam eval` options]
#
#   --corpus DIR     corpus with spam/ and ham/ folders of .eml files (default ../shared/corpus)
#   --folds K        number of folds (default 5)
#   --no-sa          Gatehouse only
#   --sa-sample N    score only every N-th message (by name) of each SpamAssassin test fold
#                    (training always uses the whole training folds); default 1: every message
#   --keep           keep the temporary folder (it is printed)
#   --bin PATH       the gatehouse binary (default: $GATEHOUSE_BIN, else build .build/release/gatehouse
#                    with `swift build -c release -j 1 --product gatehouse`, as bench/ does)
#   --scores DIR     keep Gatehouse's per-message scores, one file per fold (DIR/fold$k.tsv)
#
# Folds: a message is in fold (first 8 hex digits of md5(file name)) mod K, so the split is the
# same on every run and every machine. For each fold the others are the training set.
#
# Gatehouse: `gatehouse spam eval --train TRAIN --test TEST --json`, last lines summed over the folds.
#
# SpamAssassin (Debian's package): per fold, a private site configuration (the system's .pre
# files, which load the plugins, and our own local.cf: Bayes on, auto-learning off, its database in
# the fold's folder), an empty user preferences file, `sa-learn --spam/--ham` on the training
# folders, then `spamassassin -L` (local tests only) over the test messages as one mbox; a message
# is counted as spam when SpamAssassin's own X-Spam-Status line says Yes.
#
# Output: one line per fold for each engine, the totals, wall times, and a last line of JSON:
# {"gatehouse":{…},"spamassassin":{…}} with spamCaught, spamTotal, hamMisjudged, hamTotal.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
corpus="$here/../shared/corpus"
folds=5
run_sa=1
sa_sample=1
keep=0
bin="${GATEHOUSE_BIN:-}"
scores=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --folds) folds=$2; shift 2 ;;
        --no-sa) run_sa=0; shift ;;
        --sa-sample) sa_sample=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --bin) bin=$2; shift 2 ;;
        --scores) scores=$2; mkdir -p "$scores"; scores=$(cd "$scores" && pwd); shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
corpus=$(cd "$corpus" && pwd)

if [ -z "$bin" ]; then
    (cd "$here" && swift build -c release -j 1 --product gatehouse >&2)
    bin="$here/.build/release/gatehouse"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spam-crossval.XXXXXX")
if [ "$keep" = 0 ]; then trap 'rm -rf "$tmp"' EXIT; else echo "temporary folder: $tmp" >&2; fi

# 1. Folds: symbolic links into fold$k/{train,test}/{spam,ham}.
for ((k = 0; k < folds; k++)); do
    for set in train test; do for class in spam ham; do mkdir -p "$tmp/fold$k/$set/$class"; done; done
done
for class in spam ham; do
    for f in "$corpus/$class"/*.eml; do
        name=${f##*/}
        hash=$(printf '%s' "$name" | md5sum | cut -c1-8)
        fold=$(( 0x$hash % folds ))
        for ((k = 0; k < folds; k++)); do
            if [ "$k" = "$fold" ]; then set=test; else set=train; fi
            ln -s "$f" "$tmp/fold$k/$set/$class/$name"
        done
    done
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"; }

# 2. Gatehouse.
declare -A total=([gc]=0 [gs]=0 [gm]=0 [gh]=0 [sc]=0 [ss]=0 [sm]=0 [sh]=0)
start=$(now)
for ((k = 0; k < folds; k++)); do
    t0=$(now)
    dump=()
    if [ -n "$scores" ]; then dump=(--scores "$scores/fold$k.tsv"); fi
    json=$("$bin" spam eval --train "$tmp/fold$k/train" --test "$tmp/fold$k/test" --json "${dump[@]}" "${extra[@]}" | tail -n 1)
    t1=$(now)
    c=$(field "$json" spamCaught); s=$(field "$json" spamTotal); m=$(field "$json" hamMisjudged); h=$(field "$json" hamTotal)
    total[gc]=$((total[gc] + c)); total[gs]=$((total[gs] + s)); total[gm]=$((total[gm] + m)); total[gh]=$((total[gh] + h))
    echo "gatehouse    fold $k: spam caught $c/$s, ham misjudged $m/$h ($(elapsed "$t0" "$t1") s)"
done
gatehouse_time=$(elapsed "$start" "$(now)")

# 3. SpamAssassin.
sa_time=0
if [ "$run_sa" = 1 ]; then
    start=$(now)
    for ((k = 0; k < folds; k++)); do
        t0=$(now)
        sa="$tmp/sa$k"
        mkdir -p "$sa/site" "$sa/bayes"
        cp /etc/spamassassin/*.pre "$sa/site/"
        cat > "$sa/site/local.cf" <<EOF
use_bayes 1
bayes_auto_learn 0
bayes_path $sa/bayes/bayes
bayes_file_mode 0600
use_auto_whitelist 0
EOF
        : > "$sa/user_prefs"
        sa_opts=(--siteconfigpath "$sa/site" -p "$sa/user_prefs")
        sa-learn "${sa_opts[@]}" --dbpath "$sa/bayes" --spam "$tmp/fold$k/train/spam" >/dev/null
        sa-learn "${sa_opts[@]}" --dbpath "$sa/bayes" --ham "$tmp/fold$k/train/ham" >/dev/null
        t1=$(now)
        result=()
        for class in spam ham; do
            # Every sa_sample-th message (by name) as one mbox (mboxrd quoting of "From " lines).
            python3 - "$tmp/fold$k/test/$class" "$sa/$class.mbox" "$sa_sample" >/dev/null <<'EOF'
import os, sys
folder, out, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(n for n in os.listdir(folder) if n.endswith(".eml"))[::step]
with open(out, "wb") as f:
    for n in names:
        data = open(os.path.join(folder, n), "rb").read().replace(b"\r\n", b"\n")
        lines = data.split(b"\n")
        if lines and lines[0].startswith(b"From "):
            lines = lines[1:]
        f.write(b"From spam-crossval@localhost Thu Jan  1 00:00:00 1970\n")
        for line in lines:
            if line.lstrip(b">").startswith(b"From "):
                line = b">" + line
            f.write(line + b"\n")
        f.write(b"\n")
print(len(names))
EOF
            spamassassin "${sa_opts[@]}" -L -x --mbox < "$sa/$class.mbox" > "$sa/$class.out" 2>"$sa/$class.err" || true
            n=$(grep -c '^From spam-crossval@localhost' "$sa/$class.mbox")
            judged=$(grep -cE '^X-Spam-Status: (Yes|No), score=' "$sa/$class.out" || true)
            yes=$(grep -cE '^X-Spam-Status: Yes, score=' "$sa/$class.out" || true)
            if [ "$judged" != "$n" ]; then echo "spamassassin fold $k $class: $judged verdicts for $n messages" >&2; fi
            result+=("$yes" "$n")
        done
        t2=$(now)
        total[sc]=$((total[sc] + result[0])); total[ss]=$((total[ss] + result[1]))
        total[sm]=$((total[sm] + result[2])); total[sh]=$((total[sh] + result[3]))
        echo "spamassassin fold $k: spam caught ${result[0]}/${result[1]}, ham misjudged ${result[2]}/${result[3]}" \
             "(learn $(elapsed "$t0" "$t1") s, scan $(elapsed "$t1" "$t2") s)"
    done
    sa_time=$(elapsed "$start" "$(now)")
fi

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f%%", 100 * a / b }'; }
echo "gatehouse    total: spam caught ${total[gc]}/${total[gs]} ($(pct "${total[gc]}" "${total[gs]}")), ham misjudged ${total[gm]}/${total[gh]} ($(pct "${total[gm]}" "${total[gh]}")), ${gatehouse_time} s"
if [ "$run_sa" = 1 ]; then
    sample=""; [ "$sa_sample" != 1 ] && sample=" (every ${sa_sample}th test message)"
    echo "spamassassin total: spam caught ${total[sc]}/${total[ss]} ($(pct "${total[sc]}" "${total[ss]}")), ham misjudged ${total[sm]}/${total[sh]} ($(pct "${total[sm]}" "${total[sh]}")), ${sa_time} s$sample"
fi
g="{\"spamCaught\":${total[gc]},\"spamTotal\":${total[gs]},\"hamMisjudged\":${total[gm]},\"hamTotal\":${total[gh]}}"
if [ "$run_sa" = 1 ]; then
    echo "{\"gatehouse\":$g,\"spamassassin\":{\"spamCaught\":${total[sc]},\"spamTotal\":${total[ss]},\"hamMisjudged\":${total[sm]},\"hamTotal\":${total[sh]}}}"
else
    echo "{\"gatehouse\":$g}"
fi
