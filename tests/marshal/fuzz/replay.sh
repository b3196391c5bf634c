#!/usr/bin/env bash
# tests/marshal/fuzz/replay.sh: replay the kept unmarshal fuzz corpus.
#
#   REPLAY=build/asan/replay_unmarshal tests/marshal/fuzz/replay.sh
#
# Each file of tests/marshal/fuzz/corpus is decoded and checked as the
# fuzzer did it (fuzz_unmarshal.c, built by ninja with gcc as
# $v/replay_unmarshal: no clang needed).  It must end with exit status 0
# within the time limit, with no sanitizer report (use the ASan+UBSan
# build, as above: a plain build only catches crashes and hangs).  All the
# files go through one process; when it fails, each is replayed alone to
# name the ones that fail.  CORPUS=DIR replays another folder.
# Prints cmocka-like summary lines, which ./mcore.sh counts.
set -u
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
REPLAY=${REPLAY:-build/asan/replay_unmarshal}
case $REPLAY in /*) ;; *) REPLAY=$root/$REPLAY ;; esac
T=${REPLAY_TIMEOUT:-120}
corpus=${CORPUS:-$here/corpus}

if [[ ! -x $REPLAY ]]; then
    echo "replay.sh: $REPLAY not found (build it first: ninja asan)" >&2
    echo "[  FAILED  ] 1 test(s), listed below:"
    echo "[  FAILED  ] unmarshal fuzz replay: driver"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/unmarshal-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/san"
export ASAN_OPTIONS="log_path=$tmp/san/asan:detect_leaks=1:abort_on_error=0:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$tmp/san/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

files=("$corpus"/*)
n=${#files[@]}
failed=()
if ((n == 0)); then
    echo "replay.sh: no corpus in $corpus" >&2
    failed+=("unmarshal fuzz replay: corpus")
else
    timeout -k 2 "$T" "$REPLAY" "${files[@]}" >"$tmp/out" 2>&1
    rc=$?
    reports=("$tmp"/san/*)
    if ((rc != 0 || ${#reports[@]})); then
        rm -f "$tmp"/san/*
        for f in "${files[@]}"; do
            timeout -k 2 10 "$REPLAY" "$f" >"$tmp/out" 2>&1
            rc=$?
            reports=("$tmp"/san/*)
            ((rc == 0 && ${#reports[@]} == 0)) && continue
            name=corpus/$(basename "$f")
            echo "[ RUN      ] unmarshal fuzz replay: $name"
            echo "  exit status $rc, expected 0"
            sed 's/^/  /' "$tmp/out" | head -10
            for r in "${reports[@]}"; do
                sed 's/^/  /' "$r" | head -30
            done
            rm -f "$tmp"/san/*
            echo "[  FAILED  ] unmarshal fuzz replay: $name"
            failed+=("unmarshal fuzz replay: $name")
        done
        ((${#failed[@]})) ||
            failed+=("unmarshal fuzz replay: all files at once (exit $rc)")
    fi
fi

echo "[==========] $n test(s) run (unmarshal fuzz corpus replayed through $REPLAY)."
echo "[  PASSED  ] $((n - ${#failed[@]})) test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
