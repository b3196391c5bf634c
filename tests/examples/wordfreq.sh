#!/usr/bin/env bash
# tests/examples/wordfreq.sh: examples/wordfreq against the shell's own
# count (tr | sort | uniq -c) on fixed inputs: the repository's docs, with
# 1, 4 and 7 workers (ranges cut inside words), and an empty file; the
# same in the shared-table mode (--shared), whose output must also equal
# the box mode's.
#   WORDFREQ=build/asan/examples/wordfreq tests/examples/wordfreq.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
WF=${WORDFREQ:-build/examples/wordfreq}
passed=0
failed=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wordfreq-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# the same order as wordfreq's: by count, then by word
expected() {
    cat "$@" | LC_ALL=C tr -cs 'A-Za-z' '\n' | LC_ALL=C tr 'A-Z' 'a-z' |
        grep -v '^$' | LC_ALL=C sort | uniq -c |
        LC_ALL=C sort -k1,1nr -k2,2 | head -20 |
        awk '{ printf "%7d %s\n", $1, $2 }'
}

check() {
    local name=$1 n=$2 mode=()
    shift 2
    if [[ $1 == --shared ]]; then
        mode=(--shared)
        shift
    fi
    if ! "$WF" -n "$n" "${mode[@]}" "$@" >"$tmp/out" 2>"$tmp/err"; then
        failed+=("$name: exit status $? ($(tail -1 "$tmp/err"))")
    elif expected "$@" >"$tmp/exp" || true
        ! diff "$tmp/exp" "$tmp/out" >"$tmp/diff"; then
        failed+=("$name: differs from tr | sort | uniq -c: $(head -5 "$tmp/diff" | tr '\n' ' ')")
    else
        passed=$((passed + 1))
    fi
}

inputs=(README.md docs/*.md runtime/include/mcore/*.h)
check docs_1 1 "${inputs[@]}"
check docs_4 4 "${inputs[@]}"
check docs_7 7 "${inputs[@]}"
: >"$tmp/empty"
check empty_3 3 "$tmp/empty"
check shared_docs_1 1 --shared "${inputs[@]}"
check shared_docs_4 4 --shared "${inputs[@]}"
check shared_docs_7 7 --shared "${inputs[@]}"
check shared_empty_3 3 --shared "$tmp/empty"
# both modes print the same lines on a generated corpus (skewed counts)
if "$WF" -n 4 --gen 100000 >"$tmp/box" 2>/dev/null &&
    "$WF" -n 4 --shared --gen 100000 >"$tmp/shared" 2>/dev/null &&
    [[ -s $tmp/box ]] && cmp -s "$tmp/box" "$tmp/shared"; then
    passed=$((passed + 1))
else
    failed+=("gen_modes: --shared prints other lines than the box mode")
fi
# a missing file is an error, not a crash
for mode in "" --shared; do
    if "$WF" -n 2 $mode "$tmp/missing" >/dev/null 2>&1; then
        failed+=("missing_file$mode: exit status 0")
    else
        passed=$((passed + 1))
    fi
done

echo "[==========] $((passed + ${#failed[@]})) test(s) run (tests/examples/wordfreq.sh)."
echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
