#!/usr/bin/env bash
# tests/guide/check.sh: docs/guide.md cannot rot (run by ./mcore.sh test).
#
#   tests/guide/check.sh        (from anywhere; needs build/ built: ninja)
#
# Every fenced code block of the guide is a file of the repository:
#   - the line before the fence is <!-- file: PATH --> (or
#     <!-- file: PATH region NAME -->), or else the block's first line is a
#     comment that starts with PATH (as examples/guide/*.c do);
#   - the block equals the file, or, with a region, the lines between the
#     file's lines holding "guide: NAME" and "guide: end NAME";
#   - the file is built and run by ./mcore.sh test: an examples/guide/X.c
#     is linked into $v/examples/X, listed in targets.ninja's $v/guide
#     (part of $v/plain), built here, and has an EXPECT pattern in mcore.sh
#     (run_dir runs it, plain and ASan); an .mcidl file is compiled by a
#     targets.ninja mcidl edge; an examples/guide/*.sh script is run here
#     and must exit 0; tests/install/proj/ files are built by
#     tests/install/run.sh, which mcore.sh runs.
# And every file under examples/guide/ is shown by some block (no orphan).
# Each check is a cmocka-like line that ./mcore.sh counts.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
GUIDE=${GUIDE:-docs/guide.md} # GUIDE: another file, for testing this script
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcore-guide.XXXXXX") || exit 1
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
        sed 's/^/  /' "$tmp/log" | head -40
        echo "[  FAILED  ] $name"
        failed+=("$name")
    fi
}

# Split the guide into $tmp/block.N; $tmp/blocks gets "N LINE SPEC" per
# block (SPEC: what the <!-- file: --> line before the fence said, or -).
awk -v dir="$tmp" '
    in_block && /^```/ { in_block = 0; close(out); next }
    in_block { print > out; next }
    /^```/ {
        n++; in_block = 1; out = dir "/block." n
        printf "" > out
        print n, NR, (spec_line == NR - 1 ? spec : "-") > (dir "/blocks")
        next
    }
    /^<!-- file: .* -->$/ {
        spec = $0; sub(/^<!-- file: /, "", spec); sub(/ -->$/, "", spec)
        gsub(/ /, ":", spec); spec_line = NR
    }
' "$GUIDE"
touch "$tmp/blocks" "$tmp/shown"

# block_path N SPEC: the file a block names ("PATH" or "PATH:region:NAME")
block_path() {
    if [[ $2 != - ]]; then
        echo "$2"
        return
    fi
    sed -E -n '1s@^(/\*+|/+|#) *([A-Za-z0-9_./-]*[/.][A-Za-z0-9_./-]*).*@\2@p' \
        "$tmp/block.$1" | sed 's/[:.]*$//'
}

# check_block N SPEC: the block equals its file (or region)
check_block() {
    local n=$1 spec path region
    spec=$(block_path "$1" "$2")
    path=${spec%%:*}
    [[ -n $path ]] || {
        echo "names no file: put <!-- file: PATH --> before it, or start it with a comment naming PATH"
        sed -n 1p "$tmp/block.$n"
        return 1
    }
    [[ -f $path ]] || { echo "$path: no such file"; return 1; }
    echo "$path" >>"$tmp/shown"
    if [[ $spec == *:region:* ]]; then
        region=${spec##*:region:}
        awk -v r="$region" '
            index($0, "guide: end " r) { on = 0 }
            on { print }
            index($0, "guide: " r) && !index($0, "guide: end ") { on = 1 }
        ' "$path" >"$tmp/want"
        [[ -s $tmp/want ]] || { echo "$path: no region '$region'"; return 1; }
    else
        cp "$path" "$tmp/want"
    fi
    diff -u "$tmp/want" "$tmp/block.$n" ||
        { echo "the block differs from $path (above: - file, + guide)"; return 1; }
}

# check_run PATH: the test command builds and runs the file
check_run() {
    local path=$1 name
    name=$(basename "$path")
    name=${name%.*}
    case $path in
    examples/guide/*.c)
        grep -q "^build \$v/obj/guide/$name.o: cc $path" targets.ninja ||
            { echo "targets.ninja compiles no $path"; return 1; }
        grep -A3 '^build \$v/guide: phony' targets.ninja |
            grep -q "\$v/examples/$name\b" ||
            { echo "\$v/examples/$name is not in targets.ninja's \$v/guide"; return 1; }
        grep -A20 '^build \$v/plain: phony' targets.ninja | grep -q '\$v/guide\b' ||
            { echo "\$v/guide is not in \$v/plain"; return 1; }
        grep -q "^ *\[$name\]=" mcore.sh ||
            { echo "mcore.sh has no EXPECT pattern for $name"; return 1; }
        [[ -x build/examples/$name ]] ||
            { echo "build/examples/$name not built (ninja)"; return 1; }
        ;;
    *.mcidl)
        grep -q ": mcidl $path\|^  $path |" targets.ninja ||
            { echo "targets.ninja runs mcidl on no $path"; return 1; }
        ;;
    examples/guide/*.sh)
        OUT=$tmp/out bash "$path" || { echo "$path failed"; return 1; }
        ;;
    tests/install/proj/*)
        grep -q 'run_test tests/install/run.sh' mcore.sh ||
            { echo "mcore.sh does not run tests/install/run.sh"; return 1; }
        ;;
    *)
        echo "$path: not a file the test command builds or runs"
        return 1
        ;;
    esac
}

# check_shown: every file of examples/guide/ is in the guide
check_shown() {
    local f rc=0
    for f in examples/guide/*; do
        grep -qx "$f" "$tmp/shown" || { echo "$f: shown by no block of $GUIDE"; rc=1; }
    done
    return $rc
}

if [[ ! -f $GUIDE ]]; then
    failed+=("guide: no $GUIDE")
else
    while read -r n line spec; do
        run_case "block_line_$line" check_block "$n" "$spec"
    done <"$tmp/blocks"
    sort -u "$tmp/shown" -o "$tmp/shown"
    while read -r path; do
        run_case "run_$path" check_run "$path"
    done <"$tmp/shown"
    run_case all_shown check_shown
fi

echo "[==========] $((passed + ${#failed[@]})) test(s) run (tests/guide)."
echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
exit 0
