#!/usr/bin/env bash
# tests/install/run.sh: install mcore into a staging directory and use it
# as an outside project would (run by ./mcore.sh test).
#
#   tests/install/run.sh       (from anywhere; runs `ninja install`, which
#                               builds what is missing, man pages included)
#
# `DESTDIR=$tmp/stage ninja install` (PREFIX: its default, /usr/local),
# then the program of tests/install/proj (hello.mcidl importing
# common/msg.mcidl, found through -I; a worker sending a record into a
# camlbox) is built and run from the staged tree in four
# ways. Cases, each reported as a cmocka-like line that ./mcore.sh counts:
#   layout      every runtime/include/mcore/*.h under include/mcore/, the
#               library with its SONAME and version links, libmcore.a,
#               mcidl, mcadmin, mcore.pc, the CMake files, the man pages,
#               and the manifest lists exactly what is there
#   pkgconfig   --cflags --libs, --static (Libs.private), --modversion
#               (= mcore/version.h), --variable=mcidl (runs)
#   man         man -l renders mcidl(1), mcadmin(1), mcore(7) with no warning
#   make        a Makefile using pkg-config
#   cmake_ninja, cmake_make
#               find_package(mcore) and mcore_idl, with CMake's Ninja and
#               Makefile generators; mcore::mcore and mcore::mcore_static
#   meson       dependency('mcore') and a generator() for .mcidl files
#   cc          one cc line against libmcore.so, no rpath: found through
#               LD_LIBRARY_PATH only
#   libdir      an install with LIBDIR=lib/TRIPLET (as debian/rules does):
#               mcore.pc and the CMake package find everything
#   stat        the installed mcadmin's `stat` (and --json) against a
#               running examples/pipeline: its pool, heap and buffer
#   uninstall   `ninja uninstall` leaves no file
# Each build system's case builds, runs the program, checks that a second
# build regenerates nothing, that touching common/msg.mcidl (an import)
# regenerates both modules and relinks, and that touching hello.mcidl
# regenerates hello only.
# The staged pkg-config files are used through PKG_CONFIG_SYSROOT_DIR,
# the CMake ones through CMAKE_PREFIX_PATH (they locate themselves).
set -u
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcore-install.XXXXXX") || exit 1
# the manifest of a real install of this build outlives the test's
manifest=build/install_manifest.txt
[[ -f $manifest ]] && cp "$manifest" "$tmp/manifest.saved"
restore() {
    [[ -f $tmp/manifest.saved ]] && cp "$tmp/manifest.saved" "$manifest"
    rm -rf "$tmp"
}
trap restore EXIT
unset BINDIR LIBDIR INCLUDEDIR MANDIR
stage=$tmp/stage
prefix=/usr/local
P=$stage$prefix
EXPECT='^Got: hello from a worker, 42$'
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
# the staged library, for running only
export LD_LIBRARY_PATH=$P/lib

passed=0
failed=()
run_case() { # NAME FUNCTION: one case, under set -e; its output on failure
    local name=$1 rc
    shift
    echo "[ RUN      ] $name"
    (set -e; "$@") >"$tmp/log" 2>&1
    rc=$?
    if ((rc == 0)); then
        echo "[       OK ] $name"
        passed=$((passed + 1))
    else
        sed 's/^/  /' "$tmp/log" | tail -60
        echo "[  FAILED  ] $name"
        failed+=("$name")
    fi
}
fail() { echo "$*"; return 1; }

version=$(sed -n 's/^#define MC_VERSION_STRING "\(.*\)"/\1/p' runtime/include/mcore/version.h)
major=${version%%.*}

# ---------------------------------------------------------------- install
# (not a case: nothing else can run without it)
# PREFIX unset: the default is /usr/local
if ! env -u PREFIX DESTDIR="$stage" ninja install >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "[  FAILED  ] 1 test(s), listed below:"
    echo "[  FAILED  ] ninja install"
    exit 1
fi

check_layout() {
    local h f n
    for h in runtime/include/mcore/*.h; do
        [[ -f $P/include/mcore/${h##*/} ]] || fail "missing include/mcore/${h##*/}"
    done
    n=$(ls runtime/include/mcore/*.h | wc -l)
    [[ $(ls "$P"/include/mcore | wc -l) == "$n" ]] || fail "include/mcore: not the $n headers"
    [[ -f $P/lib/libmcore.so.$version && ! -L $P/lib/libmcore.so.$version ]]
    [[ $(readlink "$P/lib/libmcore.so.$major") == "libmcore.so.$version" ]]
    [[ $(readlink "$P/lib/libmcore.so") == "libmcore.so.$major" ]]
    readelf -d "$P/lib/libmcore.so.$version" | grep -q "SONAME.*\[libmcore.so.$major\]"
    for f in lib/libmcore.a bin/mcidl bin/mcadmin lib/pkgconfig/mcore.pc \
        lib/cmake/mcore/mcoreConfig.cmake lib/cmake/mcore/mcoreConfigVersion.cmake \
        share/man/man1/mcidl.1 share/man/man1/mcadmin.1 share/man/man7/mcore.7; do
        [[ -f $P/$f ]] || fail "missing $f"
    done
    [[ -x $P/bin/mcidl && -x $P/bin/mcadmin ]]
    "$P/bin/mcadmin" --help | grep -q unlink
    # the manifest: exactly the files and links of the staged tree
    diff <(sort build/install_manifest.txt) \
        <(find "$stage" ! -type d | sort) || fail "manifest != staged files"
}
run_case layout check_layout
cp build/install_manifest.txt "$tmp/manifest.stage"

check_pkgconfig() {
    local out
    out=$(echo $(pkg-config --cflags --libs mcore)) # no trailing space
    echo "$out"
    [[ $out == "-I$P/include -L$P/lib -lmcore" ]]
    pkg-config --static --libs mcore | grep -q -- '-lpthread'
    [[ $(pkg-config --modversion mcore) == "$version" ]]
    out=$(pkg-config --variable=mcidl mcore)
    [[ $out == "$P/bin/mcidl" ]]
    "$out" --version
}
run_case pkgconfig check_pkgconfig

check_man() {
    local m
    for m in man1/mcidl.1 man1/mcadmin.1 man7/mcore.7; do
        MANWIDTH=80 man --warnings -l "$P/share/man/$m" >"$tmp/man.out" 2>"$tmp/man.err"
        cat "$tmp/man.err"
        [[ ! -s $tmp/man.err ]] || fail "$m: warnings"
        grep -q '^NAME' "$tmp/man.out" && grep -q '^SEE ALSO' "$tmp/man.out" ||
            fail "$m: no NAME or SEE ALSO"
    done
}
run_case man check_man

# ---------------------------------------------------------------- builds
newer() { [[ -n $(find "$1" -newer "$2") ]]; }
# build_and_rebuild SRC GEN BIN BUILD...: run BUILD, run BIN; a no-op
# rebuild; then touch SRC/msg.mcidl and SRC/hello.mcidl in turn (GEN: where
# hello.c and msg.c are generated).
build_and_rebuild() {
    local src=$1 gen=$2 bin=$3
    shift 3
    "$@"
    "$bin" | tee "$tmp/out"
    grep -q "$EXPECT" "$tmp/out"
    touch "$tmp/m0"
    "$@"
    ! newer "$gen/hello.c" "$tmp/m0" || fail "a no-op build regenerated hello.c"
    sleep 1 # coarse timestamps
    touch "$tmp/m1"
    touch "$src/common/msg.mcidl"
    "$@"
    newer "$gen/msg.c" "$tmp/m1" || fail "touch msg.mcidl: msg.c not regenerated"
    newer "$gen/hello.c" "$tmp/m1" || fail "touch msg.mcidl (imported): hello.c not regenerated"
    newer "$bin" "$tmp/m1" || fail "touch msg.mcidl: not relinked"
    sleep 1
    touch "$tmp/m2"
    touch "$src/hello.mcidl"
    "$@"
    newer "$gen/hello.c" "$tmp/m2" || fail "touch hello.mcidl: hello.c not regenerated"
    ! newer "$gen/msg.c" "$tmp/m2" || fail "touch hello.mcidl: msg.c regenerated"
    "$bin" | grep -q "$EXPECT"
}
fresh_src() { rm -rf "$1" && cp -r "$here/proj" "$1"; }

check_make() {
    fresh_src "$tmp/make"
    build_and_rebuild "$tmp/make" "$tmp/make/gen" "$tmp/make/hello" \
        make -C "$tmp/make"
    ldd "$tmp/make/hello" | grep -q "libmcore.so.$major => $P/lib/"
}
run_case make check_make

check_cmake() { # GENERATOR
    local s=$tmp/cmake-src b=$tmp/cmake-build
    fresh_src "$s"
    rm -rf "$b"
    cmake -S "$s" -B "$b" -G "$1" -DCMAKE_PREFIX_PATH="$P"
    build_and_rebuild "$s" "$b/mcore_idl/hello" "$b/hello" cmake --build "$b"
    "$b/hello_static" | grep -q "$EXPECT"
    ldd "$b/hello" | grep -q "libmcore.so.$major => $P/lib/"
    ! ldd "$b/hello_static" | grep -q libmcore || fail "hello_static: linked libmcore.so"
}
run_case cmake_ninja check_cmake Ninja
run_case cmake_make check_cmake "Unix Makefiles"

check_meson() {
    local s=$tmp/meson-src b=$tmp/meson-build
    fresh_src "$s"
    meson setup "$b" "$s"
    build_and_rebuild "$s" "$b/hello.p" "$b/hello" ninja -C "$b"
}
run_case meson check_meson

check_cc() {
    local d=$tmp/cc
    fresh_src "$d"
    cd "$d"
    "$P/bin/mcidl" -o gen -I common hello.mcidl
    "$P/bin/mcidl" -o gen common/msg.mcidl
    cc -std=c11 -Wall -Wextra -Werror -I"$P/include" -Igen -o hello \
        hello.c gen/hello.c gen/msg.c -L"$P/lib" -lmcore
    ! readelf -d hello | grep -q 'RPATH\|RUNPATH' || fail "hello has an rpath"
    ./hello | grep -q "$EXPECT"
    # without LD_LIBRARY_PATH the staged library is not found
    ! env -u LD_LIBRARY_PATH ./hello >/dev/null 2>&1 ||
        [[ -e /usr/local/lib/libmcore.so.$major || -e /usr/lib/libmcore.so.$major ]] ||
        fail "ran without LD_LIBRARY_PATH"
}
run_case cc check_cc

# the installed mcadmin against a running example: `stat` shows its pool,
# heap and buffer, and --json parses
check_stat() {
    local out=$tmp/stat
    "$root/build/examples/pipeline" 16G >"$out.pl" 2>&1 &
    local pl=$! i
    for i in $(seq 100); do
        "$P/bin/mcadmin" stat >"$out.txt" 2>&1 || true
        grep -q 'sbuffer' "$out.txt" && break
        sleep 0.1
    done
    "$P/bin/mcadmin" stat --json >"$out.json" 2>&1 || true
    kill -TERM "$pl" 2>/dev/null
    wait "$pl" 2>/dev/null || true
    grep -q '^pools:' "$out.txt" && grep -q 'sbuffer' "$out.txt" ||
        fail "mcadmin stat did not show the pipeline: $(cat "$out.txt")"
    python3 -m json.tool "$out.json" >/dev/null ||
        fail "mcadmin stat --json does not parse: $(head -c 300 "$out.json")"
    grep -q '"kind": *"sbuffer"' "$out.json" || fail "no sbuffer in the JSON"
}
run_case stat check_stat

check_libdir() {
    local s2=$tmp/stage2 ma
    ma=lib/$(cc -print-multiarch)  # where CMake looks on Debian
    DESTDIR=$s2 PREFIX=/usr LIBDIR=$ma ninja install >/dev/null
    [[ -f $s2/usr/$ma/libmcore.so.$version && -f $s2/usr/include/mcore/mcore.h ]]
    [[ $(PKG_CONFIG_PATH=$s2/usr/$ma/pkgconfig PKG_CONFIG_SYSROOT_DIR=$s2 \
        pkg-config --variable=mcidl mcore) == "$s2/usr/bin/mcidl" ]]
    mkdir "$tmp/find"
    cat >"$tmp/find/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(find C)  # C: CMAKE_LIBRARY_ARCHITECTURE, lib/TRIPLET/cmake
find_package(mcore CONFIG REQUIRED)
get_target_property(lib mcore::mcore IMPORTED_LOCATION)
get_target_property(inc mcore::mcore INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(mcidl mcore::mcidl IMPORTED_LOCATION)
message(STATUS "FOUND ${lib} ${inc} ${mcidl}")
CM
    cmake -S "$tmp/find" -B "$tmp/find/b" -DCMAKE_PREFIX_PATH="$s2/usr" |
        tee "$tmp/find.log"
    grep -q "FOUND $s2/usr/$ma/libmcore.so.$version $s2/usr/include $s2/usr/bin/mcidl" "$tmp/find.log"
    # the manifest is this install's now: remove it, then the first one's
    # is taken back for the uninstall case
    ninja uninstall >/dev/null
    [[ -z $(find "$s2" ! -type d) ]]
}
run_case libdir check_libdir
cp "$tmp/manifest.stage" build/install_manifest.txt

check_uninstall() {
    ninja uninstall
    [[ ! -e build/install_manifest.txt ]]
    local left
    left=$(find "$stage" ! -type d)
    [[ -z $left ]] || fail "left after uninstall: $left"
    [[ ! -e $P/include/mcore && ! -e $P/lib/cmake/mcore ]]
}
run_case uninstall check_uninstall

echo "[  PASSED  ] $passed test(s)."
if ((${#failed[@]})); then
    echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
    for f in "${failed[@]}"; do
        echo "[  FAILED  ] $f"
    done
    exit 1
fi
