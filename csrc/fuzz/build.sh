#!/usr/bin/env bash
# Builds every libFuzzer target in csrc/fuzz/ into csrc/fuzz/build/.
# Each target links csrc/hoody_core.c directly, with ASan and UBSan.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
csrc="$(dirname "$here")"
out="$here/build"
cc="${CC:-clang}"
mkdir -p "$out"
flags=(-g -O1 -std=c99 -Wall -Wextra -Werror -pthread
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -I "$csrc" -I "$here")
for src in "$here"/fuzz_*.c; do
    name="$(basename "$src" .c)"
    "$cc" "${flags[@]}" "$src" "$csrc/hoody_core.c" -o "$out/$name"
    echo "built $out/$name"
done
