#!/usr/bin/env bash
# tests/idl/fuzz/run.sh: build and run the mcidl fuzzer (libFuzzer).
#
# Not part of ./mcore.sh test: it needs clang with libFuzzer, ASan and
# UBSan (Debian: apt-get install clang libclang-rt-14-dev), besides the
# build's flex, bison and libxxhash-dev.  Run from anywhere:
#
#   tests/idl/fuzz/run.sh build        build build/fuzz/fuzz_mcidl only
#   tests/idl/fuzz/run.sh [SECONDS]    build, then fuzz for SECONDS (600)
#   tests/idl/fuzz/run.sh merge        minimize what a run found into
#                                      tests/idl/fuzz/corpus (the kept one,
#                                      replayed by replay.sh in the tests)
#   tests/idl/fuzz/run.sh FILE...      run the given inputs once each (a
#                                      crash reproducer), diagnostics shown
#
# The harness, fuzz_mcidl.c, compiles each input as `mcidl -I inc` would:
# load with imports, check, dump and emit.  A run starts from the kept
# corpus plus every .mcidl file of tests/idl (seeds), with mcidl.dict, and
# adds what it finds to build/fuzz/corpus; crashes, leaks, sanitizer
# reports, inputs slower than 2 s or using more than 1 GB (or one malloc
# of more than 256 MB) are written to build/fuzz/artifacts/.
# Environment: JOBS (parallel fuzzing processes, default 1), CC (clang).
#
# A finding: fix it, add the reproducer as a tests/idl/bad/ (or good/)
# case with its golden file (tests/idl/run.sh --update), run again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
CC=${CC:-clang}
JOBS=${JOBS:-1}
b=build/fuzz
bin=$b/fuzz_mcidl
# the harness's temporary folders (one per process), removed at the end
export TMPDIR=$root/$b/tmp
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"/mcidl-fuzz.*' EXIT

build() {
    mkdir -p "$b/gen" "$b/corpus" "$b/artifacts"
    bison -Wall -Werror --defines -o "$b/gen/parser.c" idl/parser.y
    flex -o "$b/gen/lexer.c" idl/lexer.l
    sh compiler/embed.sh "$b/gen/templates.c" templates/*.in
    local flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -Iidl -Icompiler -I"$b/gen" -Iruntime/include)
    "$CC" "${flags[@]}" -Wall -Wextra -Werror -o "$bin" \
        tests/idl/fuzz/fuzz_mcidl.c idl/ast.c compiler/diag.c \
        compiler/load.c compiler/check.c compiler/dump.c compiler/emit.c \
        compiler/emit_ptrs.c \
        "$b/gen/parser.c" "$b/gen/lexer.c" "$b/gen/templates.c" -lxxhash
    echo "built $bin"
}

# the options of every run: hangs over 2 s and big memory are findings
opts=(-timeout=2 -rss_limit_mb=1024 -malloc_limit_mb=256 -max_len=8192
      -dict=tests/idl/fuzz/mcidl.dict -artifact_prefix="$b/artifacts/")

# the seeds: every .mcidl file of the tests, copied into one folder
# (libFuzzer reads inputs from corpus folders only)
seeds() {
    rm -rf "$b/seeds"
    mkdir -p "$b/seeds"
    for f in tests/idl/good/*.mcidl tests/idl/good/*/*.mcidl \
        tests/idl/bad/*.mcidl tests/idl/bad/*/*.mcidl tests/idl/rt/*.mcidl; do
        cp "$f" "$b/seeds/$(echo "$f" | tr / _)"
    done
}

case ${1:-600} in
build)
    build
    ;;
merge)
    [[ -x $bin ]] || build
    rm -rf "$b/merged"
    mkdir -p "$b/merged"
    seeds
    # -use_counters=0: keep the fewest (smallest) files that cover every
    # edge, not every hit count: a few hundred files, well under 1 MB
    "$bin" "${opts[@]}" -merge=1 -use_counters=0 -close_fd_mask=2 "$b/merged" \
        tests/idl/fuzz/corpus "$b/seeds" "$b/corpus"
    rm -rf tests/idl/fuzz/corpus
    mv "$b/merged" tests/idl/fuzz/corpus
    echo "kept corpus: $(ls tests/idl/fuzz/corpus | wc -l) files," \
        "$(cat tests/idl/fuzz/corpus/* | wc -c) bytes"
    ;;
*[!0-9]*)
    [[ -x $bin ]] || build
    "$bin" "${opts[@]}" -runs=1 "$@"
    ;;
*)
    build
    seeds
    # stderr (mcidl's diagnostics) closed: libFuzzer's own report and
    # the sanitizers' still print
    par=()
    ((JOBS > 1)) && par=(-fork="$JOBS")
    "$bin" "${opts[@]}" -max_total_time="$1" -print_final_stats=1 \
        -close_fd_mask=2 "${par[@]}" "$b/corpus" tests/idl/fuzz/corpus \
        "$b/seeds"
    ;;
esac
