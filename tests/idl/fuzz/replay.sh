#!/usr/bin/env bash
# tests/idl/fuzz/replay.sh: replay the kept fuzz corpus through mcidl.
#
#   MCIDL=build/asan/mcidl tests/idl/fuzz/replay.sh     (from the root)
#
# Each file of tests/idl/fuzz/corpus is compiled as the fuzzer compiled
# it (fuzz_mcidl.c): as DIR/in.mcidl, with the harness's helper modules
# beside it and -I DIR/inc, output to DIR/out.  It must exit 0 or 1 within
# the time limit, with no sanitizer report (use the ASan+UBSan build, as
# above: a plain build only catches crashes and hangs).  Needs no clang.
# CORPUS=DIR replays another folder (e.g. build/fuzz/corpus).
# Prints cmocka-like summary lines, which ./mcore.sh counts.
set -u
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
MCIDL=${MCIDL:-build/asan/mcidl}
case $MCIDL in /*) ;; *) MCIDL=$root/$MCIDL ;; esac
T=${MCIDL_TEST_TIMEOUT:-10}
corpus=${CORPUS:-$here/corpus}

if [[ ! -x $MCIDL ]]; then
    echo "replay.sh: $MCIDL not found (build it first: ninja asan)" >&2
    echo "[  FAILED  ] 1 test(s), listed below:"
    echo "[  FAILED  ] fuzz replay: mcidl binary"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcidl-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# the helper modules of fuzz_mcidl.c
mkdir -p "$tmp/lib" "$tmp/inc" "$tmp/out" "$tmp/san"
cp "$root"/tests/idl/good/lib/{common,left,right,base}.mcidl "$tmp/lib/"
cp "$root/tests/idl/good/inc/deep.mcidl" "$tmp/inc/"
printf 'module back;\nimport "in.mcidl";\n' >"$tmp/back.mcidl"
printf 'module broken\nrecord { }\n' >"$tmp/broken.mcidl"

# sanitizer reports go to files, not stderr (which quotes the input)
export ASAN_OPTIONS="log_path=$tmp/san/asan:detect_leaks=1:abort_on_error=0:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$tmp/san/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

passed=0
failed=()
n=0
for f in "$corpus"/*; do
    [[ -f $f ]] || continue
    n=$((n + 1))
    cp "$f" "$tmp/in.mcidl"
    (cd "$tmp" && timeout -k 2 "$T" "$MCIDL" -o out -I inc in.mcidl \
        >/dev/null 2>"$tmp/err")
    rc=$?
    rm -f "$tmp"/out/*
    reports=("$tmp"/san/*)
    if ((rc <= 1 && ${#reports[@]} == 0)); then
        passed=$((passed + 1))
        continue
    fi
    name=corpus/$(basename "$f")
    echo "[ RUN      ] fuzz replay: $name"
    echo "  exit status $rc, expected 0 or 1"
    for r in "${reports[@]}"; do
        sed 's/^/  /' "$r" | head -30
    done
    rm -f "$tmp"/san/*
    echo "[  FAILED  ] fuzz replay: $name"
    failed+=("fuzz replay: $name")
done
if ((n == 0)); then
    echo "replay.sh: no corpus in $corpus" >&2
    failed+=("fuzz replay: corpus")
fi

echo "[==========] $n test(s) run (fuzz corpus replayed through $MCIDL)."
echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
