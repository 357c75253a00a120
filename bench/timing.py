#!/usr/bin/env python3
"""Timing and the final table for bench/run-bench.sh (which builds the bundle and checks each
runtime first; run from inside the bundle directory).

Every runtime invocation is `unshare -m sh -c 'umount UNIFIED; exec "$@"' wrap RUNTIME --root
DIR run ID`, timed with time.perf_counter() around subprocess.run: the same method for all.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

# Targets from the issue: hullrt's median at most crun's and at most half of runc's; hullrt's
# peak RSS below runc's.
RUNC_RATIO_TARGET = 0.5


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--mem-n", type=int, required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--root-dir", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--unified", required=True)
    p.add_argument("runtimes", nargs="+", help="NAME=PATH")
    return p.parse_args()


class Bench:
    def __init__(self, a):
        self.a = a
        self.bins = dict(r.split("=", 1) for r in a.runtimes)
        self.names = list(self.bins)
        self.wrap = ["unshare", "-m", "sh", "-c",
                     f'umount {a.unified} 2>/dev/null; exec "$@"', "wrap"]
        self.seq_id = 0
        self.failed = {}  # name -> error text; a runtime that failed once is timed no further
        self.cpu = {n: [] for n in self.names}  # user+sys ms of each single run's process tree

    def new_id(self, name):
        self.seq_id += 1
        return f"{self.a.prefix}-{name}-{self.seq_id}"

    def cmd(self, name, *extra):
        root = os.path.join(self.a.root_dir, name)
        return [*self.wrap, *extra, self.bins[name], "--root", root, "run", self.new_id(name)]

    def run_once(self, name, cpu=None):
        """One timed `run`; returns seconds, or None (and records why) if it failed. With a
        list as cpu, appends the CPU time (user+sys, ms) of the whole reaped process tree."""
        argv = self.cmd(name)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(ms(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime))
        if p.returncode != 0:
            err = p.stderr.decode(errors="replace").strip()
            self.failed[name] = f"`{' '.join(argv[len(self.wrap):])}` exited {p.returncode}: {err}"
            return None
        return dt

    def alive(self):
        return [n for n in self.names if n not in self.failed]

    def wrapper_alone(self):
        """The wrapper's own cost (unshare + sh + umount + exec /bin/true), same N."""
        ts = []
        for _ in range(self.a.n):
            t0 = time.perf_counter()
            subprocess.run([*self.wrap, "/bin/true"], stdin=subprocess.DEVNULL, check=True)
            ts.append(time.perf_counter() - t0)
        return ts

    def singles(self):
        """N runs per runtime, round-robin, the starting runtime rotated each iteration."""
        ts = {n: [] for n in self.names}
        self.rounds = []  # per iteration: name -> seconds, for paired ratios
        for i in range(self.a.n):
            rnd = {}
            order = self.names[i % len(self.names):] + self.names[:i % len(self.names)]
            for name in order:
                if name in self.failed:
                    continue
                dt = self.run_once(name, self.cpu[name])
                if dt is not None:
                    ts[name].append(dt)
                    rnd[name] = dt
            self.rounds.append(rnd)
        return ts

    def sequences(self):
        """One loop of SEQ sequential runs per runtime; total seconds."""
        totals = {}
        for name in self.names:
            if name in self.failed:
                continue
            t0 = time.perf_counter()
            for _ in range(self.a.seq):
                if self.run_once(name) is None:
                    break
            else:
                totals[name] = time.perf_counter() - t0
        return totals

    def peak_rss(self):
        """Median over MEM_N runs of /usr/bin/time -f %M (KiB) around the runtime process,
        inside the wrapper so only the runtime's own process tree is measured."""
        out = {}
        path = os.path.join(self.a.tmp, "maxrss")
        for name in self.alive():
            vals = []
            for _ in range(self.a.mem_n):
                argv = self.cmd(name, "/usr/bin/time", "-f", "%M", "-o", path)
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
                if p.returncode != 0:
                    self.failed[name] = (f"peak RSS run exited {p.returncode}: "
                                         + p.stderr.decode(errors="replace").strip())
                    break
                with open(path) as f:
                    vals.append(int(f.read().split()[-1]))
            if vals:
                out[name] = statistics.median(vals)
        return out


def ms(x):
    return x * 1000.0


def p90(xs):
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


def verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    a = parse_args()
    b = Bench(a)

    print(f"wrapper alone ({a.n}x `unshare -m sh -c 'umount ...; exec /bin/true'`)...",
          flush=True)
    wrap_ts = b.wrapper_alone()
    print(f"  median {ms(statistics.median(wrap_ts)):.1f} ms, p90 {ms(p90(wrap_ts)):.1f} ms "
          "(included in every number below, for all runtimes alike)")

    print(f"{a.n} single runs per runtime, round-robin: {', '.join(b.names)}...", flush=True)
    singles = b.singles()
    print(f"one loop of {a.seq} sequential runs per runtime...", flush=True)
    seqs = b.sequences()
    print(f"peak RSS: /usr/bin/time -f %M of one `run`, median of {a.mem_n}...", flush=True)
    rss = b.peak_rss()

    for name, err in b.failed.items():
        print(f"\n{name} FAILED during timing, its numbers are left out:\n  {err}")

    rows = []
    for name in b.names:
        xs = singles.get(name, [])
        ok = name not in b.failed and xs
        rows.append((
            name,
            f"{ms(statistics.median(xs)):.1f}" if ok else "-",
            f"{ms(p90(xs)):.1f}" if ok else "-",
            f"{seqs[name]:.2f}" if name in seqs and ok else "-",
            f"{ms(seqs[name]) / a.seq:.1f}" if name in seqs and ok else "-",
            f"{rss[name]:.0f}" if name in rss and ok else "-",
            f"{statistics.median(b.cpu[name]):.1f}" if ok else "-",
        ))
    head = ("runtime", "median ms", "p90 ms", f"{a.seq} seq s", "per-ctr ms", "max RSS KiB",
            "CPU ms")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join("{:<%d}" % widths[0] if i == 0 else "{:>%d}" % w
                     for i, w in enumerate(widths))
    print()
    print(f"RESULTS (N={a.n} single runs, {a.seq} in sequence; times include the "
          "unshare wrapper)")
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))
    print("CPU ms: median user+sys of one run's whole process tree (wrapper, runtime, helpers, "
          "container),\nfrom getrusage(RUSAGE_CHILDREN); less sensitive to other load than wall "
          "time. Not a target.")

    def med(name):
        if name in b.failed or not singles.get(name):
            return None
        return statistics.median(singles[name])

    h, rc, cr = med("hullrt"), med("runc"), med("crun")
    print()
    if h is None:
        print("hullrt has no timings; no ratios")
        return
    if cr is not None:
        print(f"hullrt/crun median time  {h / cr:5.2f}   target <= 1.00   {verdict(h <= cr)}")
    else:
        print("hullrt/crun median time    n/a   target <= 1.00   SKIP (crun did not run)")
    if rc is not None:
        print(f"hullrt/runc median time  {h / rc:5.2f}   target <= {RUNC_RATIO_TARGET:.2f}   "
              f"{verdict(h <= RUNC_RATIO_TARGET * rc)}")
    else:
        print("hullrt/runc median time    n/a   target <= 0.50   SKIP (runc did not run)")
    if "hullrt" in rss and "runc" in rss:
        print(f"hullrt/runc max RSS      {rss['hullrt'] / rss['runc']:5.2f}   target <  1.00   "
              f"{verdict(rss['hullrt'] < rss['runc'])}")
    else:
        print("hullrt/runc max RSS        n/a   target <  1.00   SKIP")
    for other in ("crun", "runc"):
        pairs = [r["hullrt"] / r[other] for r in b.rounds if "hullrt" in r and other in r]
        if pairs and other not in b.failed:
            print(f"hullrt/{other} paired: median of per-round ratios {statistics.median(pairs):.2f}"
                  f" over {len(pairs)} rounds (each round runs all three back to back)")
    print("max RSS: /usr/bin/time -f %M, i.e. ru_maxrss as wait4 reports it for the runtime "
          "process: the\nlargest single process of its tree (runtime, its helpers, the tiny "
          "/bin/true), not the sum.")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
