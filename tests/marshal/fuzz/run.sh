#!/usr/bin/env bash
# tests/marshal/fuzz/run.sh: build and run the unmarshal fuzzer (libFuzzer).
#
# Not part of ./mcore.sh test: it needs clang with libFuzzer, ASan and
# UBSan (Debian: apt-get install clang libclang-rt-14-dev), besides the
# build's own tools.  Run from anywhere:
#
#   tests/marshal/fuzz/run.sh build      build build/fuzz/unmarshal/fuzz_unmarshal
#   tests/marshal/fuzz/run.sh [SECONDS]  build, then fuzz for SECONDS (600)
#   tests/marshal/fuzz/run.sh merge      minimize what a run found into
#                                        tests/marshal/fuzz/corpus (the kept
#                                        one, replayed by replay.sh in the
#                                        tests)
#   tests/marshal/fuzz/run.sh FILE...    run the given inputs once each (a
#                                        crash reproducer), diagnostics shown
#
# The harness, fuzz_unmarshal.c, decodes each input as one of the
# generated test types (see there) and checks what it accepts.  A run
# starts from the kept corpus plus seeds (valid marshalled values of every
# type, written by build/replay_unmarshal --seeds) and adds what it finds
# to build/fuzz/unmarshal/corpus; crashes, leaks, sanitizer reports,
# inputs slower than 2 s or using more than 1 GB (ASan's quarantine
# included), or one malloc of more than 64 MB (a decoder's memory is
# bounded by its input) are written to build/fuzz/unmarshal/artifacts/.
# Environment: JOBS (parallel fuzzing processes, default 1), CC (clang).
#
# A finding: fix it, add the reproducer to tests/marshal/fuzz/corpus (or a
# test of tests/test_marshal.c), run again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
CC=${CC:-clang}
JOBS=${JOBS:-1}
b=build/fuzz/unmarshal
bin=$b/fuzz_unmarshal

build() {
    # the generated sources (and the seed writer) come from the plain build
    ninja build/replay_unmarshal >/dev/null
    mkdir -p "$b/obj" "$b/corpus" "$b/artifacts"
    local flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -Iruntime/include -Iruntime/src)
    # the generated code's folders; -iquote: the module `common` before
    # runtime/src/common.h (the runtime's own sources go without them)
    local gen=(-Ibuild/gen/tests -Ibuild/gen/idl -Itests/idl/gen
        -iquote build/gen/fuzzlib)
    local srcs=(runtime/src/*.c runtime/src/*/*.c build/gen/tests/fixture.c
        build/gen/idl/rt.c build/gen/idl/other.c build/gen/fuzzlib/*.c
        tests/idl/gen/{containers,docs,geo,imports,refs,scalars,sync}.c)
    # one object per source (runtime and generated files share names)
    local objs=() s o inc
    for s in "${srcs[@]}"; do
        o=$b/obj/$(echo "${s%.c}" | tr / _).o
        inc=("${gen[@]}")
        [[ $s == runtime/* ]] && inc=()
        "$CC" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" \
            "${inc[@]}" -c "$s" -o "$o"
        objs+=("$o")
    done
    "$CC" "${flags[@]}" "${gen[@]}" -Wall -Wextra -Werror -o "$bin" \
        tests/marshal/fuzz/fuzz_unmarshal.c "${objs[@]}" -lpthread -lrt
    echo "built $bin"
}

# the options of every run: hangs over 2 s and big memory are findings
opts=(-timeout=2 -rss_limit_mb=1024 -malloc_limit_mb=64 -max_len=16384
      -artifact_prefix="$b/artifacts/")

seeds() {
    rm -rf "$b/seeds"
    mkdir -p "$b/seeds"
    build/replay_unmarshal --seeds "$b/seeds" >/dev/null
}

case ${1:-600} in
build)
    build
    ;;
merge)
    [[ -x $bin ]] || build
    rm -rf "$b/merged"
    mkdir -p "$b/merged" tests/marshal/fuzz/corpus
    seeds
    # -use_counters=0: the fewest (smallest) files that cover every edge
    "$bin" "${opts[@]}" -merge=1 -use_counters=0 "$b/merged" \
        tests/marshal/fuzz/corpus "$b/seeds" "$b/corpus"
    rm -rf tests/marshal/fuzz/corpus
    mv "$b/merged" tests/marshal/fuzz/corpus
    echo "kept corpus: $(ls tests/marshal/fuzz/corpus | wc -l) files," \
        "$(cat tests/marshal/fuzz/corpus/* | wc -c) bytes"
    ;;
*[!0-9]*)
    [[ -x $bin ]] || build
    "$bin" "${opts[@]}" -runs=1 "$@"
    ;;
*)
    build
    seeds
    mkdir -p tests/marshal/fuzz/corpus
    par=()
    ((JOBS > 1)) && par=(-fork="$JOBS")
    "$bin" "${opts[@]}" -max_total_time="$1" -print_final_stats=1 \
        "${par[@]}" "$b/corpus" tests/marshal/fuzz/corpus "$b/seeds"
    ;;
esac
