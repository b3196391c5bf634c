#!/usr/bin/env bash
# tests/port/run.sh: portability and linking checks (run by ./mcore.sh test).
#
#   tests/port/run.sh          (from anywhere; needs build/ built: ninja)
#
# Cases, each reported as a cmocka-like line that ./mcore.sh counts:
#   exports       libmcore.so has a SONAME with the major version of
#                 mcore/version.h (the file is libmcore.so.MAJOR.MINOR.PATCH),
#                 exports exactly the public API: every exported symbol is
#                 declared in runtime/include/mcore/, every function declared
#                 there is exported, no internal mc__ name leaks out.
#   cxx_g++, cxx_clang++
#                 a C++17 file including mcore.h and a generated header
#                 compiles with -Wall -Wextra -Werror, links against
#                 libmcore.so and runs (tests/cxx/cxx_api.cpp).
#   clang_asan    the runtime built by clang with ASan+UBSan (clang has no
#                 __SANITIZE_ADDRESS__) runs the same program without a
#                 report: the short-string fast path is off under ASan.
# Environment: MCIDL (build/mcidl), CC/CXX pairs are fixed (gcc, g++,
# clang, clang++), PORT_JOBS (parallel compiles, default 2).
set -u
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
MCIDL=${MCIDL:-build/mcidl}
LIB=build/libmcore.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcore-port.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=()
run_case() { # NAME COMMAND...: one case; its output is shown on failure
    local name=$1
    shift
    echo "[ RUN      ] $name"
    if "$@" >"$tmp/log" 2>&1; then
        echo "[       OK ] $name"
        passed=$((passed + 1))
    else
        sed 's/^/  /' "$tmp/log" | head -60
        echo "[  FAILED  ] $name"
        failed+=("$name")
    fi
}

inc=(-Iruntime/include -Iruntime/src)

# ---------------------------------------------------------------- exports
check_exports() {
    local soname major
    soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    # the library's version is the headers' (mcore/version.h)
    local hdr=runtime/include/mcore/version.h version
    major=$(sed -n 's/^#define MC_VERSION_MAJOR //p' $hdr)
    version=$(sed -n 's/^#define MC_VERSION_STRING "\(.*\)"/\1/p' $hdr)
    [[ $soname == "libmcore.so.$major" ]] ||
        { echo "SONAME '$soname', expected libmcore.so.$major ($hdr)"; return 1; }
    [[ -f build/libmcore.so.$version ]] ||
        { echo "no build/libmcore.so.$version ($hdr): build.ninja's so_version differs"; return 1; }
    nm -D --defined-only "$LIB" | awk '$3 != "" { print $3 }' |
        sed 's/@.*//' | grep -v '^MCORE_' | sort -u >"$tmp/exported"
    [[ -s $tmp/exported ]] || { echo "no exported symbols"; return 1; }
    # no internal name, but those that the headers' inline code calls
    if grep '^mc__' "$tmp/exported" | grep -vxE 'mc__put_slow|mc__get_fail|mc__arr_at_slow|mc__arr_none'; then
        echo "internal symbols exported (above)"
        return 1
    fi
    if grep -v '^mc_' "$tmp/exported"; then
        echo "symbols outside the mc_ namespace exported (above)"
        return 1
    fi
    # every exported name is declared by the public headers: taking its
    # address compiles only if it is
    {
        echo '#include "mcore/mcore.h"'
        echo 'void *exported_names[] = {'
        sed 's/.*/    (void *)\&&,/' "$tmp/exported"
        echo '};'
    } >"$tmp/declared.c"
    gcc -std=c11 -D_GNU_SOURCE -Wall -Werror -Iruntime/include \
        -c "$tmp/declared.c" -o "$tmp/declared.o" ||
        { echo "an exported symbol is not declared in a public header"; return 1; }
    # every function the public headers declare (not inline) is exported
    gcc -std=c11 -D_GNU_SOURCE -Iruntime/include -aux-info "$tmp/aux" \
        -c "$tmp/declared.c" -o "$tmp/declared.o" || return 1
    # (the declared name is the last word before the first parenthesis)
    grep 'runtime/include/mcore/' "$tmp/aux" | grep -v ':[A-Z]*F \*/' |
        sed -n 's/^\/\* [^ ]* \*\/ extern \([^(]*\) (.*/\1/p' |
        awk '{ print $NF }' | sed 's/^\**//' | grep '^mc_' | sort -u \
        >"$tmp/declared"
    [[ -s $tmp/declared ]] || { echo "no declarations found"; return 1; }
    local missing
    missing=$(comm -23 "$tmp/declared" "$tmp/exported")
    [[ -z $missing ]] || { echo "declared but not exported:"; echo "$missing"; return 1; }
    echo "$(wc -l <"$tmp/exported") symbols exported, SONAME $soname"
}

# ---------------------------------------------------------------- C++
gen_rt() {
    [[ -f $tmp/gen/rt.c ]] && return 0
    mkdir -p "$tmp/gen" && "$MCIDL" -o "$tmp/gen" tests/idl/rt/rt.mcidl
}

cxx_flags=(-std=c++17 -Wall -Wextra -Werror -O1 -g)
check_cxx() { # CC CXX
    local cc=$1 cxx=$2 out=$tmp/cxx_$2
    gen_rt || return 1
    mkdir -p "$out"
    "$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -fPIC \
        -Iruntime/include -c "$tmp/gen/rt.c" -o "$out/rt.o" || return 1
    "$cxx" "${cxx_flags[@]}" -Iruntime/include -I"$tmp/gen" \
        -c tests/cxx/cxx_api.cpp -o "$out/cxx_api.o" || return 1
    "$cxx" -o "$out/cxx_api" "$out/cxx_api.o" "$out/rt.o" \
        -L"$root/build" -Wl,-rpath,"$root/build" -lmcore -lpthread || return 1
    "$out/cxx_api"
}

# ---------------------------------------------------------------- clang ASan
check_clang_asan() {
    local out=$tmp/clang_asan san=(-fsanitize=address,undefined
        -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g)
    gen_rt || return 1
    mkdir -p "$out/obj"
    local f objs=()
    for f in $(find runtime/src -name '*.c' | sort) "$tmp/gen/rt.c"; do
        objs+=("$out/obj/$(echo "$f" | tr / _).o")
    done
    # compile in parallel: the runtime is ~30 files
    printf '%s\n' $(find runtime/src -name '*.c' | sort) "$tmp/gen/rt.c" |
        xargs -P "${PORT_JOBS:-2}" -I{} sh -c 'o="$1/obj/$(echo "$2" | tr / _).o"
            exec clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror '"${san[*]}"' \
                -Iruntime/include -Iruntime/src -c "$2" -o "$o"' _ "$out" {} ||
        return 1
    clang++ "${cxx_flags[@]}" "${san[@]}" -Iruntime/include -I"$tmp/gen" \
        -c tests/cxx/cxx_api.cpp -o "$out/cxx_api.o" || return 1
    clang++ "${san[@]}" -o "$out/cxx_api" "$out/cxx_api.o" "${objs[@]}" \
        -lpthread || return 1
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out/cxx_api"
}

if [[ ! -x $MCIDL || ! -e $LIB ]]; then
    echo "tests/port/run.sh: build first (ninja): $MCIDL, $LIB" >&2
    failed+=("port: build")
else
    run_case exports check_exports
    run_case cxx_g++ check_cxx gcc g++
    run_case cxx_clang++ check_cxx clang clang++
    run_case clang_asan check_clang_asan
fi

echo "[==========] $((passed + ${#failed[@]})) test(s) run (tests/port)."
echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
