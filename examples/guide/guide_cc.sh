# examples/guide/guide_cc.sh: guide_processes built by hand, against the
# build tree (tests/guide/check.sh runs it from the checkout's root).
set -e
out=${OUT:-gen}
mkdir -p "$out"
# guide_processes.mcidl -> $out/guide_processes.h and .c
build/mcidl -o "$out" examples/guide/guide_processes.mcidl
cc -std=c11 -Wall -Wextra -Werror -Iruntime/include -I"$out" \
    examples/guide/guide_processes.c "$out/guide_processes.c" \
    build/libmcore.a -lpthread -o "$out/guide_processes"
"$out/guide_processes" | grep -x 'Sum of squares: 30'
