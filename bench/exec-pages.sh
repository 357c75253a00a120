#!/bin/bash
# Which of hullrt's own pages a `hullrt exec` has mapped, and whose code they hold: a
# diagnostic for exec's peak RSS, not a benchmark. It starts a container (`runc spec`
# bundle, busybox `sleep`), runs `hullrt exec ID /bin/sleep 2` and, while that waits for its
# process, reads the exec's /proc/PID/smaps (RSS of each mapping: code, data, heap, stack) and
# /proc/PID/pagemap (which pages of the binary's code are mapped). Mapped code pages are then
# attributed to crates with the binary's symbol table, so the binary must not be stripped:
#
#   bash scripts/build-hullrt.sh --release    (also writes target/release/hullrt.unstripped)
#   sudo HULLRT=target/release/hullrt.unstripped bash bench/exec-pages.sh
#
# The kernel maps up to 64 KiB of already cached file pages around each page a process
# touches ("fault-around"), so a mapped page is not necessarily a page the exec ran; the
# "touched 64 KiB windows" figure is what the code's layout costs.
set -euo pipefail
((EUID == 0)) || { echo "exec-pages: must run as root" >&2; exit 1; }
[[ -n ${HULLRT:-} ]] || { echo "exec-pages: set HULLRT to an unstripped hullrt" >&2; exit 1; }
hullrt=$(realpath "$HULLRT")
tmp=$(mktemp -d /tmp/hull-exec-pages.XXXXXX)
id=hep$$
cleanup() {
  "$hullrt" --root "$tmp/root" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "${BASH_SOURCE[0]}")/busybox-bundle.sh"
busybox_bundle "$tmp/bundle" /bin/sleep 1000
python3 - "$tmp" "$hullrt" "$id" <<'EOF'
import json, os, re, struct, subprocess, sys, time
from collections import Counter

tmp, hullrt, cid = sys.argv[1:4]
bundle = os.path.join(tmp, "bundle")
rt = [hullrt, "--root", os.path.join(tmp, "root")]
subprocess.run(rt + ["create", "--bundle", bundle, cid], check=True,
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.run(rt + ["start", cid], check=True)
p = subprocess.Popen(rt + ["exec", cid, "/bin/sleep", "2"])
time.sleep(1)
pid = p.pid
maps = open(f"/proc/{pid}/maps").read().splitlines()
smaps = open(f"/proc/{pid}/smaps").read()
# RSS per mapping.
print("mapping                                     size KB   rss KB  anon KB")
total = 0
for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", smaps):
    head = block.split("\n", 1)[0].split()
    f = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", block, re.M)}
    name = head[5] if len(head) > 5 else "[anon]"
    total += f.get("Rss", 0)
    if f.get("Rss", 0):
        print(f"{head[1]} {os.path.basename(name)[:34]:<36}{f['Size']:>8}{f['Rss']:>9}{f.get('Anonymous', 0):>9}")
print(f"total rss KB {total}")
# The binary's executable mapping and its present pages.
# After the sealed re-exec the binary is mapped from a detached mount: its name is not
# hullrt's path, so take the first executable mapping of a file.
text = [f for f in (l.split() for l in maps)
        if f[1] == "r-xp" and len(f) > 5 and not f[5].startswith("[")]
lo, hi = (int(x, 16) for x in text[0][0].split("-"))
off = int(text[0][2], 16)
pm = open(f"/proc/{pid}/pagemap", "rb")
present = []
for a in range(lo, hi, 4096):
    pm.seek(a // 4096 * 8)
    (e,) = struct.unpack("<Q", pm.read(8))
    if e >> 63 & 1:
        present.append(a)
p.wait()
windows = {a // 65536 for a in present}
print(f"code mapping {(hi - lo) // 1024} KB, mapped {len(present) * 4} KB, "
      f"64 KiB windows touched {len(windows)} of {(hi - lo + 65535) // 65536}")
# Symbols: crate of each function (first path segment of the demangled name).
nm = subprocess.run(["nm", "-S", "--defined-only", "-C", hullrt], capture_output=True, text=True).stdout
syms = []
for l in nm.splitlines():
    parts = l.split(None, 3)
    if len(parts) == 4 and parts[2] in "tTwW":
        name = parts[3]
        m = re.match(r"^(?:<)?(?:&)?(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)(?:::|<)", name)
        crate = m.group(1) if m else ("libc" if not "::" in name else "?")
        syms.append((int(parts[0], 16), int(parts[1], 16), crate))
if not syms:
    sys.exit("exec-pages: no symbols: build hullrt with -C strip=none")
syms.sort()
# The file offset of the mapping maps to vaddr lo; nm gives vaddrs directly for a non-PIE.
by_crate_mapped, by_crate_all = Counter(), Counter()
pres = set(present)
for addr, size, crate in syms:
    by_crate_all[crate] += size
    for pg in range(addr // 4096 * 4096, addr + size, 4096):
        if pg in pres:
            by_crate_mapped[crate] += min(addr + size, pg + 4096) - max(addr, pg)
print("\ncrate                      code KB  of it in mapped pages KB")
for crate, n in sorted(by_crate_all.items(), key=lambda kv: -kv[1])[:40]:
    print(f"{crate:<26}{n // 1024:>8}{by_crate_mapped[crate] // 1024:>12}")
EOF
