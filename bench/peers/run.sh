#!/bin/sh
# bench/peers/run.sh: build and run the OCaml original's sref bench
# (netmcore_ref.ml), the peer of bench/heap's heap.sref_* figures.
#
#   bench/peers/run.sh OUTDIR [n [rounds]]
#
# Prints the peer's lines (netmcore_ref_assign <ops/s>, ...), or one
# "# ..." line saying why it was skipped: OCaml is never needed to build
# or test mcore, only to see this peer
# (apt-get install ocaml-nox ocaml-findlib libocamlnet-ocaml-dev).
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUTDIR [n [rounds]]}
n=${2:-200000}
rounds=${3:-7}
if ! command -v ocamlfind >/dev/null 2>&1 ||
   ! ocamlfind query netmulticore >/dev/null 2>&1; then
    echo "# peer netmcore_ref skipped: no ocamlfind or netmulticore (apt-get install ocaml-nox ocaml-findlib libocamlnet-ocaml-dev)"
    exit 0
fi
mkdir -p "$out" || exit 1
exe=$out/netmcore_ref
src=$here/netmcore_ref.ml
if [ ! -x "$exe" ] || [ "$src" -nt "$exe" ]; then
    # compiled under another name: a file netmcore_ref.ml is the module
    # Netmcore_ref, which would hide the library's
    b=$(mktemp -d /tmp/mc-peer-build.XXXXXX) || exit 1
    cp "$src" "$b/peer_netmcore_ref.ml" &&
    (cd "$b" && ocamlfind ocamlopt -package netmulticore,unix -linkpkg \
        peer_netmcore_ref.ml -o netmcore_ref) >"$b/log" 2>&1 &&
    mv "$b/netmcore_ref" "$exe"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "# peer netmcore_ref skipped: it did not build:"
        sed 's/^/#   /' "$b/log"
        rm -rf "$b"
        exit 0
    fi
    rm -rf "$b"
fi
# Netmcore wants a socket directory of its own per running instance
sock=$(mktemp -d /tmp/mc-peer-sock.XXXXXX) || exit 1
"$exe" "$sock" "$n" "$rounds"
rc=$?
rm -rf "$sock"
[ $rc -eq 0 ] || echo "# peer netmcore_ref failed (exit $rc)"
exit 0
