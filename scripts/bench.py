#!/usr/bin/env python3
"""mdlua's benchmark: whole-process medians, side by side with the peers, as ratios.

Prints a markdown table. Wall time comes from hyperfine (-N: no shell in between); peak
RSS from wait4() over repeated runs. Each area adds its rows in a function below; a row
whose peer is missing on this machine says so instead of failing.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

MDLUA = os.environ.get("MDLUA_BIN") or "mdlua"
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def wall_ms(argv, runs=RUNS):
    """Median wall time in milliseconds."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = " ".join(shlex_quote(a) for a in argv)
        subprocess.run(["hyperfine", "-N", "--warmup", "10", "--runs", str(runs),
                        "--export-json", out.name, cmd],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.load(open(out.name))
    return data["results"][0]["median"] * 1000


def peak_rss_mib(argv, runs=20):
    """Median peak resident set size in MiB, through GNU time: a child forked from this
    Python process would count Python's own pages in its peak (the kernel keeps the
    high-water mark across exec)."""
    samples = []
    for _ in range(runs):
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples.append(int(p.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(samples)


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def available(argv):
    return shutil.which(argv[0]) is not None


rows = []


def row(case, mine, peer=None, rss=True):
    """One line: mdlua's command against a peer's (or alone)."""
    r = {"case": case, "mine_ms": wall_ms(mine), "peer": None}
    if rss:
        r["mine_rss"] = peak_rss_mib(mine)
    if peer and available(peer):
        r["peer"] = " ".join(shlex_quote(a) for a in peer)
        r["peer_ms"] = wall_ms(peer)
        if rss:
            r["peer_rss"] = peak_rss_mib(peer)
    elif peer:
        r["peer"] = " ".join(peer) + " (not installed)"
    rows.append(r)


def bench_binary():
    row("`mdlua -e ''` vs `lua5.4 -e ''`", [MDLUA, "-e", ""], ["lua5.4", "-e", ""])
    row("`mdlua help`", [MDLUA, "help"], ["lua5.4", "-e", ""])
    row("`mdlua --version`", [MDLUA, "--version"])


def fmt(v, unit):
    return "–" if v is None else f"{v:.2f} {unit}"


def report():
    print("| case | mdlua | peer | peer time | time ratio | mdlua peak RSS | peer peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['mine_ms'] / r['peer_ms']:.2f}x" if r.get("peer_ms") else "–"
        print(f"| {r['case']} | {fmt(r['mine_ms'], 'ms')} | {r['peer'] or '–'} | "
              f"{fmt(r.get('peer_ms'), 'ms')} | {ratio} | {fmt(r.get('mine_rss'), 'MiB')} | "
              f"{fmt(r.get('peer_rss'), 'MiB')} |")


def main():
    if not shutil.which("hyperfine"):
        sys.exit("bench: hyperfine is missing (scripts/install-deps.sh installs it)")
    print(f"mdlua: {subprocess.run([MDLUA, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"median of {RUNS} runs each; ratio = mdlua / peer (below 1 is faster)\n")
    bench_binary()
    report()


if __name__ == "__main__":
    main()
