#!/bin/bash
# The linker of the release hullrt (scripts/build-hullrt.sh --release passes it to rustc as
# `-C linker`): it runs the C compiler driver exactly as rustc would, with rustc's arguments,
# and adds `--symbol-ordering-file` for lld (rustc's default linker here), so the functions
# that hullrt's lifecycle verbs run sit together at the start of the code instead of spread
# over all of it. The kernel maps up to 64 KiB of code around every page a process touches, so
# that is what keeps `hullrt exec`'s RSS small (docs/hullrt-size.md).
#
# The list, crates/hullrt/hot.order, holds mangled symbol names as a profile of the verbs saw
# them (scripts/hullrt-order.sh makes it). A Rust symbol's name holds hashes (v0 mangling's
# crate disambiguators `Cs<base62>_`, legacy mangling's `17h<16 hex>E` suffix) that move when a
# dependency, the compiler or the crate's build settings change, so each name is matched
# exactly when the linked objects define it, else by the name without its hashes (every
# symbol of that name). Names no object defines are left out: a stale list costs
# layout, never correctness, and an empty or missing one links as rustc alone would.
#
# Build-hullrt.sh names the list in an argument `--hullrt-order=PATH:CHECKSUM` that is
# removed here (the checksum makes cargo link again when only the list changed).
#
# It also links OUTPUT.unstripped, the same objects in the same order with the symbol table
# kept (build-hullrt.sh copies it to target/release/hullrt.unstripped, for
# scripts/hullrt-order.sh and bench/exec-pages.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
order=$here/../crates/hullrt/hot.order
cc=${HULLRT_CC:-cc}

# build-hullrt.sh names the list (and its checksum, for cargo) in an argument of its own.
args=()
for a in "$@"; do
  case $a in
    --hullrt-order=*) order=${a#--hullrt-order=}; order=${order%:*} ;;
    *) args+=("$a") ;;
  esac
done
set -- "${args[@]}"
objs=()
out=
prev=
for a in "$@"; do
  case $a in *.o) [[ -f $a ]] && objs+=("$a") ;; esac
  [[ $prev == -o ]] && out=$a
  prev=$a
done

args=("$@")
if [[ -s $order && ${#objs[@]} -gt 0 && -n $out ]]; then
  list=$out.order
  # Symbols the objects define (functions only), then the order list resolved against them.
  nm --defined-only "${objs[@]}" 2>/dev/null | awk '$2 ~ /^[tTwW]$/ { print $3 }' |
    awk -v order="$order" '
      function base(s) { sub(/17h[0-9a-f]{16}E$/, "", s); gsub(/Cs[0-9A-Za-z]+_/, "Cs_", s); return s }
      { have[$0] = 1; b = base($0); byb[b] = (b in byb) ? byb[b] "\n" $0 : $0 }
      END {
        while ((getline s < order) > 0) {
          if (s == "" || s ~ /^#/) continue
          if (s in have) { if (!(s in done)) { print s; done[s] = 1 } ; continue }
          b = base(s)
          if (b in byb) {
            n = split(byb[b], m, "\n")
            for (i = 1; i <= n; i++) if (!(m[i] in done)) { print m[i]; done[m[i]] = 1 }
          } else if (b == s && !(s in done)) {
            print s; done[s] = 1   # a C symbol from a static library (libc.a): no hash
          }
        }
      }' >"$list"
  args+=("-Wl,--symbol-ordering-file=$list" "-Wl,--no-warn-symbol-ordering")
fi

"$cc" "${args[@]}"
if [[ -n $out ]]; then
  keep=()
  prev=
  for a in "${args[@]}"; do
    if [[ $prev == -o ]]; then keep+=("$out.unstripped"); prev=$a; continue; fi
    prev=$a
    case $a in -s | -Wl,--strip-all | -Wl,--strip-debug | -Wl,-s | -Wl,-S) continue ;; esac
    keep+=("$a")
  done
  "$cc" "${keep[@]}"
fi
