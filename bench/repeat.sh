#!/bin/sh
# bench/repeat.sh: run a bench N times and print the spread of each figure.
#
#   bench/repeat.sh N COMMAND [ARGS...]
#   e.g. bench/repeat.sh 10 build/bench/camlbox
#        bench/repeat.sh 10 build/bench/process
#
# Each run's BENCH lines are kept in $REPEAT_LOG (default: a temporary
# file, named at the end).  For each figure (and each peer it is set
# beside) it prints the minimum, median and maximum of the value over the
# runs, max/min, and the same for the ratio to the peer:
#   SPREAD <figure> [vs <peer>] n <runs> min <v> med <v> max <v> spread <x>
#          [ratio min <r> med <r> max <r>]
# Run it on a machine with nothing else running: each run alone.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 N COMMAND [ARGS...]" >&2
    exit 2
fi
n=$1
shift
log=${REPEAT_LOG:-$(mktemp /tmp/bench-repeat.XXXXXX)}
: > "$log"
i=1
while [ "$i" -le "$n" ]; do
    if ! "$@" > "$log.run" 2>&1; then
        echo "run $i failed:" >&2
        cat "$log.run" >&2
        rm -f "$log.run"
        exit 1
    fi
    grep '^BENCH ' "$log.run" | sed "s/^/$i /" >> "$log"
    rm -f "$log.run"
    i=$((i + 1))
done
# lines: RUN BENCH figure value unit [vs peer pvalue unit ratio r]
awk '
function med(a, k,   i, j, t) {
    for (i = 2; i <= k; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{
    key = $3 ($6 == "vs" ? " vs " $7 : "")
    if (!(key in cnt)) order[++nk] = key
    c = ++cnt[key]
    val[key, c] = $4
    unit[key] = $5
    if ($6 == "vs") { rat[key, c] = $11; hasrat[key] = 1 }
}
END {
    for (q = 1; q <= nk; q++) {
        key = order[q]; k = cnt[key]
        split("", a); split("", r)
        for (i = 1; i <= k; i++) { a[i] = val[key, i]; if (key in hasrat) r[i] = rat[key, i] }
        m = med(a, k)
        line = sprintf("SPREAD %s n %d min %.3f med %.3f max %.3f %s spread %.2f",
                       key, k, a[1], m, a[k], unit[key], a[1] > 0 ? a[k] / a[1] : 0)
        if (key in hasrat) {
            mr = med(r, k)
            line = line sprintf(" ratio min %.2f med %.2f max %.2f", r[1], mr, r[k])
        }
        print line
    }
}' "$log"
echo "runs: $log" >&2
