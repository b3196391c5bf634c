#!/usr/bin/env bash
# tests/idl/run.sh: golden tests of the mcidl front end.  Builds nothing.
#
#   MCIDL=build/mcidl tests/idl/run.sh        (from the repository root)
#   tests/idl/run.sh --update                 rewrite the golden files
#
# good/X.mcidl  `mcidl --dump [X.args] X.mcidl` must exit 0, print nothing
#               on stderr and print exactly X.dump; where X.deps exists,
#               `--check --depfile` must write exactly that depfile.
# bad/X.mcidl   `mcidl [X.args] X.mcidl` must exit 1 and print exactly
#               X.err on stderr (nothing on stdout), and write nothing:
#               neither the -o directory nor the depfile gets a file.
# Helper modules that are only imported live in subdirectories.  Paths in
# messages are relative to tests/idl/, where the tests run.
#
# Prints cmocka-like summary lines, which ./mcore.sh counts.
set -u
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MCIDL=${MCIDL:-build/mcidl}
case $MCIDL in /*) ;; *) MCIDL=$root/$MCIDL ;; esac
update=0
[[ ${1:-} == --update ]] && update=1

if [[ ! -x $MCIDL ]]; then
    echo "run.sh: $MCIDL not found (build it first: ninja)" >&2
    echo "[  FAILED  ] 1 test(s), listed below:"
    echo "[  FAILED  ] mcidl binary"
    exit 1
fi

cd "$here" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcidl-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=()
T=${MCIDL_TEST_TIMEOUT:-20}

# check NAME EXPECTED-FILE ACTUAL-FILE: compare (or update) one golden file
check() {
    if ((update)); then
        cp "$3" "$2"
        return 0
    fi
    if [[ ! -f $2 ]]; then
        echo "  missing golden file $2"
        return 1
    fi
    if ! diff -u "$2" "$3" >"$tmp/diff"; then
        sed 's/^/  /' "$tmp/diff" | head -40
        return 1
    fi
}

for f in good/*.mcidl; do
    t=${f%.mcidl}
    args=()
    [[ -f $t.args ]] && read -r -a args <"$t.args"
    echo "[ RUN      ] $f"
    ok=1
    timeout -k 5 "$T" "$MCIDL" --dump "${args[@]}" "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if ((rc != 0)); then
        echo "  exit status $rc, expected 0"; ok=0
    fi
    if [[ -s $tmp/err ]]; then
        echo "  unexpected stderr:"; sed 's/^/  /' "$tmp/err" | head -20; ok=0
    fi
    check "$f" "$t.dump" "$tmp/out" || ok=0
    if [[ -f $t.deps ]]; then
        rm -f "$tmp/deps"
        timeout -k 5 "$T" "$MCIDL" --check -o out --depfile "$tmp/deps" \
            "${args[@]}" "$f" >/dev/null 2>&1 || { echo "  --check failed"; ok=0; }
        if [[ -f $tmp/deps ]]; then
            check "$f" "$t.deps" "$tmp/deps" || ok=0
        else
            echo "  no depfile written"; ok=0
        fi
    fi
    if ((ok)); then
        echo "[       OK ] $f"; passed=$((passed + 1))
    else
        echo "[  FAILED  ] $f"; failed+=("$f")
    fi
done

for f in bad/*.mcidl; do
    t=${f%.mcidl}
    args=()
    [[ -f $t.args ]] && read -r -a args <"$t.args"
    echo "[ RUN      ] $f"
    ok=1
    rm -rf "$tmp/o"
    mkdir "$tmp/o"
    timeout -k 5 "$T" "$MCIDL" -o "$tmp/o" --depfile "$tmp/o/dep.d" \
        "${args[@]}" "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if ((rc != 1)); then
        echo "  exit status $rc, expected 1"; ok=0
    fi
    if [[ -s $tmp/out ]]; then
        echo "  unexpected stdout:"; sed 's/^/  /' "$tmp/out" | head -20; ok=0
    fi
    if [[ -n $(ls -A "$tmp/o") ]]; then
        echo "  files written on error:"; ls -A "$tmp/o" | sed 's/^/  /'; ok=0
    fi
    check "$f" "$t.err" "$tmp/err" || ok=0
    if ((ok)); then
        echo "[       OK ] $f"; passed=$((passed + 1))
    else
        echo "[  FAILED  ] $f"; failed+=("$f")
    fi
done

# the command line itself
cli() {
    local name=$1 want=$2; shift 2
    echo "[ RUN      ] cli: $name"
    timeout -k 5 "$T" "$MCIDL" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if ((rc == want)); then
        echo "[       OK ] cli: $name"; passed=$((passed + 1))
    else
        echo "  exit status $rc, expected $want"; sed 's/^/  /' "$tmp/err" | head -5
        echo "[  FAILED  ] cli: $name"; failed+=("cli: $name")
    fi
}
cli "--help" 0 --help
cli "--version" 0 --version
cli "no input" 2
cli "two inputs" 2 good/geo.mcidl good/refs.mcidl
cli "unknown option" 2 --frobnicate good/geo.mcidl
cli "-I without directory" 2 good/geo.mcidl -I
cli "missing file" 1 --check does/not/exist.mcidl
cli "directory as input" 1 --check good
# -o DIR is created, with its parents (item 18), only once the input is
# known good
echo "[ RUN      ] cli: -o a new directory"
if "$MCIDL" -o "$tmp/new/a/b" good/geo.mcidl 2>"$tmp/err" &&
    [[ -f $tmp/new/a/b/geo.h && -f $tmp/new/a/b/geo.c ]] &&
    ! "$MCIDL" -o "$tmp/new2/c" bad/val_empty.mcidl 2>/dev/null &&
    [[ ! -e $tmp/new2 ]]; then
    echo "[       OK ] cli: -o a new directory"; passed=$((passed + 1))
else
    sed 's/^/  /' "$tmp/err" | head -5
    echo "[  FAILED  ] cli: -o a new directory"; failed+=("cli: -o a new directory")
fi
touch "$tmp/file"
cli "-o a file" 1 -o "$tmp/file" good/geo.mcidl

# generated inputs, too large to keep: `gen_input NAME WANT-RC PATTERN`
# compiles $tmp/big/in.mcidl (written by the caller) within the time limit
# and wants exit status WANT-RC and PATTERN (grep -E) on stderr.
gen_input() {
    local name=$1 want=$2 pat=$3
    echo "[ RUN      ] input: $name"
    rm -rf "$tmp/big/out" && mkdir -p "$tmp/big/out"
    timeout -k 5 "$T" "$MCIDL" -o "$tmp/big/out" "$tmp/big/in.mcidl" \
        >/dev/null 2>"$tmp/err"
    local rc=$?
    if ((rc == want)) && grep -Eq -- "$pat" "$tmp/err"; then
        echo "[       OK ] input: $name"; passed=$((passed + 1))
    else
        echo "  exit status $rc, expected $want, and /$pat/ on stderr"
        sed 's/^/  /' "$tmp/err" | cut -c1-160 | head -5
        echo "[  FAILED  ] input: $name"; failed+=("input: $name")
    fi
}
mkdir -p "$tmp/big"
# a million suffixes: one error, no deep stack, no output
{ printf 'module big;\nrecord A { x: i32'
  for ((i = 0; i < 1000; i++)); do printf '%s' "$(printf '[2]%.0s' {1..1000})"; done
  printf '; }\n'; } >"$tmp/big/in.mcidl"
gen_input "a million suffixes" 1 "in.mcidl:2:114: error: type nested more than 32 levels deep$"
# a FIFO, imported or as the input, is refused at once (opening it for
# reading used to wait for a writer forever)
mkfifo "$tmp/big/fifo.mcidl"
printf 'module big;\nimport "fifo.mcidl";\n' >"$tmp/big/in.mcidl"
gen_input "import of a FIFO" 1 \
    "cannot read imported file '.*fifo.mcidl': not a regular file$"
rm -f "$tmp/big/in.mcidl" && mkfifo "$tmp/big/in.mcidl"
gen_input "a FIFO as input" 1 "cannot read '.*in.mcidl': not a regular file$"
rm -f "$tmp/big/in.mcidl" "$tmp/big/fifo.mcidl"

# generated C: for good/X.mcidl, `mcidl -o DIR` must write exactly
# gen/X.h and gen/X.c, and they must compile warning-free (-Wall -Wextra
# -Werror) against the runtime's headers.  Imported modules are generated
# alongside, as a build would.
CC=${CC:-gcc}
mkdir -p "$tmp/gen"
for f in good/*.mcidl good/lib/*.mcidl good/inc/*.mcidl; do
    base=$(basename "$f" .mcidl)
    t=${f%.mcidl}
    args=()
    [[ -f $t.args ]] && read -r -a args <"$t.args"
    timeout -k 5 "$T" "$MCIDL" -o "$tmp/gen" "${args[@]}" "$f" \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; }
done
for f in good/*.mcidl; do
    base=$(basename "$f" .mcidl)
    echo "[ RUN      ] gen: $f"
    ok=1
    for ext in h c; do
        if [[ -f $tmp/gen/$base.$ext ]]; then
            check "$f" "gen/$base.$ext" "$tmp/gen/$base.$ext" || ok=0
        else
            echo "  $base.$ext was not written"; ok=0
        fi
    done
    if [[ -f $tmp/gen/$base.c ]] && ! "$CC" -std=c11 -D_GNU_SOURCE -Wall \
        -Wextra -Werror -I"$root/runtime/include" -I"$tmp/gen" \
        -c "$tmp/gen/$base.c" -o "$tmp/gen/$base.o" 2>"$tmp/err"; then
        echo "  the generated C does not compile:"
        sed 's/^/  /' "$tmp/err" | head -20; ok=0
    fi
    if ((ok)); then
        echo "[       OK ] gen: $f"; passed=$((passed + 1))
    else
        echo "[  FAILED  ] gen: $f"; failed+=("gen: $f")
    fi
done

# the ABI guard: a generated file compiled against a
# runtime whose mcore/version.h says another MC_ABI_VERSION, or none, must
# not build, and must say why; the fake header comes first on the path
abi() { # NAME VERSION-H-LINE PATTERN
    echo "[ RUN      ] gen: ABI guard, $1"
    mkdir -p "$tmp/abi/mcore"
    printf '%s\n' "$2" >"$tmp/abi/mcore/version.h"
    if "$CC" -std=c11 -D_GNU_SOURCE -I"$tmp/abi" -I"$root/runtime/include" \
        -I"$tmp/gen" -c "$tmp/gen/geo.c" -o "$tmp/abi/geo.o" 2>"$tmp/err"; then
        echo "  compiled against $2"
    elif grep -q "error: #error \"module geo was generated by mcidl .* $3" \
        "$tmp/err"; then
        echo "[       OK ] gen: ABI guard, $1"; passed=$((passed + 1))
        return
    else
        sed 's/^/  /' "$tmp/err" | head -10
    fi
    echo "[  FAILED  ] gen: ABI guard, $1"; failed+=("gen: ABI guard, $1")
}
abi "another ABI" "#define MC_ABI_VERSION 999" "is another"
abi "no ABI" "/* no MC_ABI_VERSION */" "defines no MC_ABI_VERSION"

# constants have the C type of their value (item 17): use_enums.c
echo "[ RUN      ] gen: constants' C types"
if "$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wsign-compare -Werror \
    -I"$root/runtime/include" -I"$tmp/gen" -c use_enums.c \
    -o "$tmp/gen/use_enums.o" 2>"$tmp/err"; then
    echo "[       OK ] gen: constants' C types"; passed=$((passed + 1))
else
    sed 's/^/  /' "$tmp/err" | head -20
    echo "[  FAILED  ] gen: constants' C types"; failed+=("gen: constants' C types")
fi

# type ids: the same definition gives the same id whatever the file's
# spelling (comments, blanks, other declarations); any change to the type
# or to a type it reaches gives another.
idof() { # FILE MACRO: the value of #define MACRO in FILE's header
    mkdir -p "$tmp/id" && rm -f "$tmp/id"/*
    "$MCIDL" -o "$tmp/id" "$1" >/dev/null 2>&1 &&
        sed -n "s/^#define $2 //p" "$tmp/id/$(basename "$1" .mcidl).h"
}
mkdir -p "$tmp/ids"
printf 'module same;\nrecord P { x: i64; s: string; }\nrecord R { p: P; }\n' \
    >"$tmp/ids/a.mcidl"
printf '/// doc\nmodule same; // c\nenum E { a }\nrecord P {x:i64;s:string;}\n%s\n' \
    'record R { p: P; }' >"$tmp/ids/b.mcidl"
printf 'module same;\nrecord P { x: i32; s: string; }\nrecord R { p: P; }\n' \
    >"$tmp/ids/c.mcidl"
echo "[ RUN      ] type ids"
ia=$(idof "$tmp/ids/a.mcidl" SAME_R_TYPE_ID)
ib=$(idof "$tmp/ids/b.mcidl" SAME_R_TYPE_ID)
ic=$(idof "$tmp/ids/c.mcidl" SAME_R_TYPE_ID)
if [[ -n $ia && $ia == "$ib" && -n $ic && $ia != "$ic" ]]; then
    echo "[       OK ] type ids"; passed=$((passed + 1))
else
    echo "  ids: same text $ia / $ib, changed inner field $ic"
    echo "[  FAILED  ] type ids"; failed+=("type ids")
fi

# through a descriptor: a record holding an sref's descriptor changes id
# with the sref's value type (an sref of another type is another type)
printf 'module same;\nrecord P { x: i64; }\nsref S : P;\nrecord R { s: S; }\n' \
    >"$tmp/ids/d.mcidl"
printf 'module same;\nrecord P { x: i32; }\nsref S : P;\nrecord R { s: S; }\n' \
    >"$tmp/ids/e.mcidl"
echo "[ RUN      ] type ids: descriptors"
id_=$(idof "$tmp/ids/d.mcidl" SAME_R_TYPE_ID)
ie=$(idof "$tmp/ids/e.mcidl" SAME_R_TYPE_ID)
if [[ -n $id_ && -n $ie && $id_ != "$ie" ]]; then
    echo "[       OK ] type ids: descriptors"; passed=$((passed + 1))
else
    echo "  ids: $id_ / $ie (the sref's value type changed)"
    echo "[  FAILED  ] type ids: descriptors"; failed+=("type ids: descriptors")
fi

if ((update)); then
    echo "golden files updated"
fi
echo "[==========] $((passed + ${#failed[@]})) test(s) run."
echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
