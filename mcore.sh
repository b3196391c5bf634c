#!/usr/bin/env bash
# mcore.sh: set up, build, run and test mcore.
#
#   ./mcore.sh example   install what is missing, build, run the main example
#   ./mcore.sh test      build both variants, run every test and example
#   ./mcore.sh bench     build and run the benchmarks
#
# Debian/Ubuntu packages are installed with apt-get (via sudo when not root)
# only if `dpkg -s` says they are missing.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1

PACKAGES=(gcc libc6-dev ninja-build libcmocka-dev flex bison pkg-config valgrind
    libxxhash-dev g++ clang libclang-rt-dev libglib2.0-dev
    make cmake meson scdoc man-db)
TEST_TIMEOUT=${MCORE_TEST_TIMEOUT:-600}

die() { echo "mcore.sh: $*" >&2; exit 1; }

usage() {
    cat <<'EOF'
usage: ./mcore.sh example   build and run the main example (build/examples/create_join)
       ./mcore.sh test      build everything (plain and ASan/UBSan) and run all tests
       ./mcore.sh bench     build and run the benchmarks (build/bench/*)
EOF
}

# ---------------------------------------------------------------- setup

setup() {
    local missing=() p
    if command -v dpkg >/dev/null 2>&1; then
        for p in "${PACKAGES[@]}"; do
            dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
        done
    else
        echo "mcore.sh: no dpkg here; assuming ${PACKAGES[*]} are installed" >&2
    fi
    if ((${#missing[@]})); then
        local sudo=()
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null 2>&1 ||
                die "need root or sudo to install: ${missing[*]}"
            sudo=(sudo)
        fi
        echo "mcore.sh: installing ${missing[*]}"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
            die "apt-get update failed"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" ||
            die "apt-get install ${missing[*]} failed"
    fi
    command -v ninja >/dev/null 2>&1 || die "ninja not found"
    command -v gcc >/dev/null 2>&1 || die "gcc not found"
}

build() {
    ninja "$@" || die "build failed (ninja $*)"
}

# ---------------------------------------------------------------- test

PASSED=0
FAILED=0
FAILURES=()
DETAILS=()
LOG=

# run_test BINARY: run one cmocka binary and add its cases to the totals.
run_test() {
    local bin=$1 rc p f
    echo "=== $bin"
    local cmd=("$bin")
    if [[ $bin == *.valgrind ]]; then
        bin=${bin%.valgrind}
        cmd=(valgrind -q --error-exitcode=99 "$bin")
    fi
    timeout -k 10 "$TEST_TIMEOUT" "${cmd[@]}" >"$LOG" 2>&1 </dev/null
    rc=$?
    cat "$LOG"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$LOG" |
        awk '{ s += $1 } END { print s + 0 }')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*/\1/p' "$LOG" |
        awk '{ s += $1 } END { print s + 0 }')
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if ((f > 0)); then
        FAILURES+=("$bin: $f test(s) failed")
    fi
    # The whole log scrolls out of a CI report's tail: keep what says why.
    if ((f > 0 || rc != 0)); then
        DETAILS+=("--- $bin (exit $rc)")
        mapfile -t -O "${#DETAILS[@]}" DETAILS < <(grep -E \
            '^\[  (ERROR|FAILED) +\]|failed|[a-z_]+\.c:[0-9]+|ERROR:|runtime error' \
            "$LOG" | grep -Ev '^mcore: worker|^==[0-9]+==' | head -40)
    fi
    # A crash, timeout or sanitizer report after the summary, or a binary
    # that reported nothing, counts as one more failure.
    if ((rc == 124 || rc == 137)); then
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: timed out after ${TEST_TIMEOUT}s")
    elif ((rc > 128)); then
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: killed by signal $((rc - 128))")
    elif ((rc != 0 && f == 0)); then
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: exit status $rc (crash or sanitizer error)")
    elif ((rc == 0 && p == 0 && f == 0)); then
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: printed no cmocka summary")
    fi
}

# What each example must print (a line matching the pattern).
declare -A EXPECT=(
    [create_join]='^Final result: 385$'
    [tut_process]='^Result: 2$'
    [tut_sref]='^Result: 3$'
    [tut_swap]='^data1 = initial string 2$'
    [tut_pin]='^p = initial string 1$'
    [tut_sync]='^Done: 4 workers took their turns in order 1 2 3 4$'
    [tut_camlbox]='^Message: Hello world$'
    [camlbox_speed]='^Sum: 6000000$'
    [wordfreq]='^ *[0-9][0-9]* the$'
    [tut_array]='^Result: zero uno two new new, header 2$'
    [matmul]='^max abs difference: 0$'
    [pipeline]='^Checked: 67108864 bytes, checksum ok$'
    # docs/guide.md's examples (examples/guide/)
    [guide_processes]='^Sum of squares: 30$'
    [guide_sref]='^Counter: 6$'
    [guide_mutate]='^now: second draft (1 edit)$'
    [guide_camlbox]='^Received 3 reports from workers 1+2+3 = 6$'
    [guide_sync]='^Total: 5000$'
    [guide_array]='^Sum of squares 0..15: 1240$'
    [guide_buffer]='^Read 3 lines, 34 bytes$'
    [guide_crash]='^worker 1 was killed by signal 9$'
    [guide_hashtbl]='^the: 3, cat: 2, 5 words$'
    [guide_queue]='^Sum of squares 1..10: 385$'
    [tut_hashtbl]='^Total: 10$'
    [tut_queue]='^Total: 20 orders, 110 items$'
    [workq]='^Primes below 1000000: 78498 (100 jobs, 4 workers)$'
)

# Arguments of examples whose default run is too long for the suite
# (pipeline: 64 MiB instead of its default 1 GiB).
declare -A ARGS=(
    [pipeline]='64M'
)

# run_example BINARY: one case (with its ARGS), passes on exit status 0
# and, where EXPECT has a pattern for it, on printing a matching line.
run_example() {
    local bin=$1 rc name
    name=$(basename "$bin")
    echo "=== $bin"
    # shellcheck disable=SC2086 # ARGS holds words
    timeout -k 10 "$TEST_TIMEOUT" "$bin" ${ARGS[$name]:-} >"$LOG" 2>&1 </dev/null
    rc=$?
    cat "$LOG"
    if ((rc == 0)) && [[ -n ${EXPECT[$name]:-} ]] &&
        ! grep -q "${EXPECT[$name]}" "$LOG"; then
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: printed no line matching '${EXPECT[$name]}'")
    elif ((rc == 0)); then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        FAILURES+=("$bin: exit status $rc")
    fi
}

# run_valgrind BINARY: the process tests once more under valgrind (memcheck
# in the master; workers are forks of it and _exit without teardown).
run_valgrind() {
    local bin=$1
    if ! command -v valgrind >/dev/null 2>&1; then
        FAILED=$((FAILED + 1))
        FAILURES+=("valgrind: not installed")
        return
    fi
    run_test "$bin.valgrind"
}

# check_built DIR: every tests/test_*.c has its binary in DIR (a test left
# out of the build's phony targets would otherwise be skipped silently).
check_built() {
    local src name
    for src in tests/test_*.c; do
        name=$(basename "$src" .c)
        if [[ ! -x $1/$name ]]; then
            FAILED=$((FAILED + 1))
            FAILURES+=("$1/$name: not built (add it to \$v/plain in targets.ninja)")
        fi
    done
}

# run_dir DIR KIND: run every executable file in DIR.
run_dir() {
    local dir=$1 kind=$2 bin found=0
    for bin in "$dir"/*; do
        [[ -f $bin && -x $bin ]] || continue
        found=1
        "run_$kind" "$bin"
    done
    if ((!found)); then
        FAILED=$((FAILED + 1))
        FAILURES+=("$dir: no $kind binaries found")
    fi
}

cmd_test() {
    setup
    build all
    LOG=$(mktemp "${TMPDIR:-/tmp}/mcore-test.XXXXXX") || die "mktemp failed"
    trap 'rm -f "$LOG"' EXIT
    check_built build/tests
    check_built build/asan/tests
    run_dir build/tests test
    MCIDL=build/mcidl run_test tests/idl/run.sh
    run_test tests/port/run.sh
    run_test tests/install/run.sh
    run_dir build/examples example
    run_test tests/guide/check.sh
    run_test tests/examples/wordfreq.sh
    for t in test_process test_failure test_resource; do
        run_valgrind "build/tests/$t"
    done
    # The sanitizer settings apply to the asan run only.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_dir build/asan/tests test
    MCIDL=build/asan/mcidl run_test tests/idl/run.sh
    MCIDL=build/asan/mcidl run_test tests/idl/fuzz/replay.sh
    REPLAY=build/asan/replay_unmarshal run_test tests/marshal/fuzz/replay.sh
    run_dir build/asan/examples example
    WORDFREQ=build/asan/examples/wordfreq run_test tests/examples/wordfreq.sh
    unset ASAN_OPTIONS UBSAN_OPTIONS
    # A worker's threads, under ThreadSanitizer (libtsan2 comes with gcc's
    # libgcc-12-dev on Debian).  halt_on_error: a race in a worker kills it,
    # which its join reports (workers _exit, past TSan's exit check).
    build build/tsan/tests/test_threads
    TSAN_OPTIONS=halt_on_error=1 run_test build/tsan/tests/test_threads

    echo
    if ((${#FAILURES[@]})); then
        if ((${#DETAILS[@]})); then
            echo "What the failing binaries said:"
            printf '  %s\n' "${DETAILS[@]}"
        fi
        echo "Failures:"
        printf '  %s\n' "${FAILURES[@]}"
    fi
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

# ---------------------------------------------------------------- main

case "${1:-}" in
example)
    setup
    build
    exec build/examples/create_join
    ;;
test)
    cmd_test
    ;;
bench)
    setup
    build
    rc=0
    for b in build/bench/*; do
        [[ -f $b && -x $b ]] || continue
        echo "=== $b"
        "$b" || { echo "mcore.sh: $b exited with status $?" >&2; rc=1; }
    done
    exit $rc
    ;;
-h | --help | help)
    usage
    ;;
*)
    usage >&2
    exit 1
    ;;
esac
