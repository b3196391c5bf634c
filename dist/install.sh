#!/bin/sh
# dist/install.sh: `ninja install` and `ninja uninstall` (build.ninja).
#
#   dist/install.sh install BUILD     copy what BUILD (build/) holds
#   dist/install.sh uninstall BUILD   remove what the last install wrote
#
# ninja has no command-line variables, so the places come from the
# environment, as with make's conventions:
#
#   PREFIX      /usr/local
#   BINDIR      bin                  (relative ones are under PREFIX)
#   LIBDIR      lib                  (Debian: lib/x86_64-linux-gnu)
#   INCLUDEDIR  include
#   MANDIR      share/man
#   DESTDIR     empty; prepended to every path written (staging), but not
#               to the paths written into mcore.pc and the CMake files
#
# install records every file and link it wrote, with DESTDIR, in
# BUILD/install_manifest.txt; uninstall removes those and then the
# directories of mcore's own that are left empty.  The headers are every
# runtime/include/mcore/*.h (a glob: a new header is installed with no
# change here).
set -eu

cmd=${1:?usage: dist/install.sh install|uninstall BUILD}
build=${2:?usage: dist/install.sh install|uninstall BUILD}
manifest=$build/install_manifest.txt

case $cmd in
uninstall)
    [ -f "$manifest" ] || { echo "uninstall: no $manifest (nothing installed from this build)" >&2; exit 1; }
    while IFS= read -r f; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            rm -f "$f"
            echo "-- Removed: $f"
        fi
    done <"$manifest"
    # mcore's own directories, once empty (never a shared one like lib/)
    while IFS= read -r f; do
        d=$(dirname "$f")
        case $d in
        */include/mcore | */cmake/mcore | */doc/mcore) rmdir "$d" 2>/dev/null || true ;;
        esac
    done <"$manifest"
    rm -f "$manifest"
    exit 0
    ;;
install) ;;
*) echo "dist/install.sh: unknown command '$cmd'" >&2; exit 1 ;;
esac

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
abs() { case $1 in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac; }
bindir=$(abs "${BINDIR:-bin}")
libdir=$(abs "${LIBDIR:-lib}")
includedir=$(abs "${INCLUDEDIR:-include}")
mandir=$(abs "${MANDIR:-share/man}")
cmakedir=$libdir/cmake/mcore

# the version: the one build.ninja gives the shared library
so_version=$(sed -n 's/^so_version = //p' build.ninja)
so_major=$(sed -n 's/^so_major = //p' build.ninja)
[ -n "$so_version" ] && [ -n "$so_major" ] || { echo "install: no so_version in build.ninja" >&2; exit 1; }

: >"$manifest"
record() { echo "$1" >>"$manifest"; echo "-- Installing: $1"; }
# put MODE SRC DIR [NAME]
put() {
    dst=$DESTDIR$3/${4:-$(basename "$2")}
    install -d -m 755 "$DESTDIR$3"
    install -m "$1" "$2" "$dst"
    record "$dst"
}
# link TARGET DIR NAME
link() {
    install -d -m 755 "$DESTDIR$2"
    ln -sfn "$1" "$DESTDIR$2/$3"
    record "$DESTDIR$2/$3"
}
# subst IN: the template with @VAR@ replaced
subst() {
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$libdir|g" \
        -e "s|@INCLUDEDIR@|$includedir|g" -e "s|@BINDIR@|$bindir|g" \
        -e "s|@VERSION@|$so_version|g" -e "s|@SO_MAJOR@|$so_major|g" \
        -e "s|@CMAKE_TO_PREFIX@|$(relpath "$cmakedir" "$PREFIX")|g" \
        -e "s|@PREFIX_TO_LIBDIR@|$(relpath "$PREFIX" "$libdir")|g" \
        -e "s|@PREFIX_TO_INCLUDEDIR@|$(relpath "$PREFIX" "$includedir")|g" \
        -e "s|@PREFIX_TO_BINDIR@|$(relpath "$PREFIX" "$bindir")|g" "$1"
}
# relpath FROM TO: TO relative to FROM (TO under FROM's parents, or ".")
relpath() {
    from=$1 to=$2 up=
    while :; do
        case $to/ in
        "$from"/*) rest=${to#"$from"}; rest=${rest#/}
            r=$up$rest; r=${r%/}; echo "${r:-.}"; return ;;
        esac
        from=$(dirname "$from"); up="../$up"
    done
}

for h in runtime/include/mcore/*.h; do
    put 644 "$h" "$includedir/mcore"
done
put 644 "$build/libmcore.a" "$libdir"
put 755 "$build/libmcore.so.$so_version" "$libdir"
link "libmcore.so.$so_version" "$libdir" "libmcore.so.$so_major"
link "libmcore.so.$so_major" "$libdir" libmcore.so
put 755 "$build/mcidl" "$bindir"
put 755 "$build/mcadmin" "$bindir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subst dist/mcore.pc.in >"$tmp/mcore.pc"
put 644 "$tmp/mcore.pc" "$libdir/pkgconfig"
subst dist/cmake/mcoreConfig.cmake.in >"$tmp/mcoreConfig.cmake"
subst dist/cmake/mcoreConfigVersion.cmake.in >"$tmp/mcoreConfigVersion.cmake"
put 644 "$tmp/mcoreConfig.cmake" "$cmakedir"
put 644 "$tmp/mcoreConfigVersion.cmake" "$cmakedir"

for m in "$build"/man/*.[1-8]; do
    sec=${m##*.}
    put 644 "$m" "$mandir/man$sec"
done
