#!/usr/bin/env bash
# tests/install/deb.sh: build the Debian packages from debian/ and check
# them with lintian (not part of ./mcore.sh test: it builds the library
# once more, about a minute on 2 CPUs).
#
#   tests/install/deb.sh [OUTDIR]
#
# Copies the working tree's files (tracked, and untracked ones git does
# not ignore) to a temporary directory, runs `dpkg-buildpackage -us -uc -b`
# there, lists each package's files, runs lintian on the result, builds
# and runs tests/install/proj against the unpacked packages (make with
# pkg-config, CMake), and fails on a lintian error (E:), a missing package
# or a failed build.  The .deb files are
# left in OUTDIR when given.  Needs dpkg-dev, debhelper, lintian, cmake
# (apt-get install dpkg-dev debhelper lintian cmake), and the build
# dependencies of debian/control.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcore-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for t in dpkg-buildpackage dh lintian cmake; do
    command -v $t >/dev/null || { echo "deb.sh: $t missing (apt-get install dpkg-dev debhelper lintian cmake)" >&2; exit 1; }
done

src=$tmp/mcore
mkdir "$src"
(cd "$root" && git ls-files -co --exclude-standard -z |
    xargs -0 cp --parents -t "$src" 2>/dev/null || true)
# files deleted from the tree but still tracked were skipped by cp
[[ -f $src/debian/control ]] || { echo "deb.sh: no debian/control" >&2; exit 1; }

echo "=== dpkg-buildpackage -us -uc -b"
start=$SECONDS
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
    { tail -40 "$tmp/build.log"; echo "deb.sh: dpkg-buildpackage failed"; exit 1; }
echo "built in $((SECONDS - start)) s"
grep -E '^dpkg-(gensymbols|shlibdeps)|warning' "$tmp/build.log" || true

rc=0
for p in libmcore0 libmcore-dev mcore-tools; do
    deb=$(ls "$tmp"/${p}_*.deb 2>/dev/null | head -1)
    if [[ -z $deb ]]; then
        echo "deb.sh: $p was not built"; rc=1; continue
    fi
    echo "=== $(basename "$deb")"
    dpkg-deb -f "$deb" Package Version Architecture Multi-Arch Depends
    dpkg-deb -c "$deb" | awk '{ print "  " $6 ($7 ? " " $7 " " $8 : "") }'
done

echo "=== lintian"
changes=$(ls "$tmp"/*.changes)
# every tag, down to pedantic and experimental ones
lintian -EIL +pedantic --tag-display-limit 0 "$changes" 2>&1 |
    grep -v '^running with root' | tee "$tmp/lintian.log" || true
if grep -q '^E: ' "$tmp/lintian.log"; then
    echo "deb.sh: lintian reports errors"; rc=1
else
    echo "lintian: no error ($(grep -c '^W: ' "$tmp/lintian.log" || true) warnings, $(grep -c '^I: ' "$tmp/lintian.log" || true) info)"
fi

# the packages' files, unpacked (not installed), used as a project would:
# the program of tests/install/proj with pkg-config and make, and with CMake
echo "=== using the unpacked packages"
r=$tmp/root
for p in libmcore0 libmcore-dev mcore-tools; do
    dpkg-deb -x "$tmp"/${p}_*.deb "$r"
done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export LD_LIBRARY_PATH=$r/usr/lib/$ma
cp -r "$here/proj" "$tmp/make"
if PKG_CONFIG_PATH=$r/usr/lib/$ma/pkgconfig PKG_CONFIG_SYSROOT_DIR=$r \
    make -s -C "$tmp/make" >"$tmp/use.log" 2>&1 && "$tmp/make/hello"; then
    echo "make + pkg-config: ok"
else
    cat "$tmp/use.log"; echo "deb.sh: make + pkg-config failed"; rc=1
fi
if cmake -S "$here/proj" -B "$tmp/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$r/usr" \
    >"$tmp/use.log" 2>&1 && cmake --build "$tmp/cmake" >>"$tmp/use.log" 2>&1 &&
    "$tmp/cmake/hello" && "$tmp/cmake/hello_static"; then
    echo "CMake find_package + mcore_idl: ok"
else
    cat "$tmp/use.log"; echo "deb.sh: CMake failed"; rc=1
fi
MANWIDTH=80 man -l "$r/usr/share/man/man7/mcore.7.gz" | head -3

if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$tmp"/*.deb "$out"/
    echo "packages in $out"
fi
exit $rc
