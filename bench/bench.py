#!/usr/bin/env python3
"""blocksmith parse benchmark: times `parse` against same-run yardsticks.

Generates the standard 119,341-block chain with ../shared/tools/make_chain.py (unless it
exists), then alternates, for --rounds rounds:
  openssl dgst -sha256 FILE           (the hashing yardstick for validation)
  blocksmith parse FILE --no-json     (validation alone)
  blocksmith parse FILE --json OUT    (validation and the complete JSON)
and runs the straightforward Python solution (../shared/tools/python_baseline.py)
--python-rounds times. Reports medians, peak memory (max RSS of each process, from wait4)
and the ratios the targets are stated in. Optionally checks the JSON with Python's json.load.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv, stdout=subprocess.DEVNULL, ok=(0,)):
    """Runs argv; returns (seconds, peak RSS in MB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"), help="the shared/ folder (tools and data)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"), help="where the chain and JSON go")
    ap.add_argument("--blocks", type=int, default=119341, help="chain length (default: the standard 119,341)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--python-rounds", type=int, default=2)
    ap.add_argument("--check-json", action="store_true", help="also json.load the output in Python")
    ap.add_argument("--show", action="store_true", help="also time verify and show --format json")
    args = ap.parse_args()

    binary = os.path.join(ROOT, ".build", "release", "blocksmith")
    if not os.access(binary, os.X_OK):
        sys.exit("build first: make")
    os.makedirs(args.out, exist_ok=True)
    chain = os.path.join(args.out, f"chain-{args.blocks // 1000}k.blk")
    if not os.path.exists(chain):
        print(f"generating {chain} ...", file=sys.stderr)
        gen = [sys.executable, os.path.join(args.shared, "tools", "make_chain.py"), "--out", chain]
        if args.blocks != 119341:
            gen += ["--blocks", str(args.blocks)]
        subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)
    size_mb = os.path.getsize(chain) / 1e6
    json_out = os.path.join(args.out, "chain.json")
    py_out = os.path.join(args.out, "python.json")
    openssl = shutil.which("openssl")

    commands = [("openssl", [openssl, "dgst", "-sha256", chain]),
                ("validate", [binary, "parse", chain, "--no-json"]),
                ("json", [binary, "parse", chain, "--json", json_out])]
    if args.show:
        show_out = open(os.path.join(args.out, "show.jsonl"), "wb")
        commands += [("verify", [binary, "verify", chain]),
                     ("show", [binary, "show", chain, "--format", "json"])]
    times = {name: [] for name, _ in commands}
    peaks = {name: [] for name, _ in commands}
    for r in range(args.rounds):
        for name, argv in commands:
            if name == "show":
                show_out.seek(0)
                show_out.truncate()
            seconds, peak, _ = run(argv, stdout=show_out if name == "show" else subprocess.DEVNULL,
                                   ok=(0, 1) if name == "verify" else (0,))
            times[name].append(seconds)
            peaks[name].append(peak)
        print(f"round {r + 1}: " + ", ".join(f"{name} {times[name][-1]:.3f} s" for name, _ in commands), file=sys.stderr)
    python = []
    python_peak = []
    for r in range(args.python_rounds):
        seconds, peak, _ = run([sys.executable, os.path.join(args.shared, "tools", "python_baseline.py"), chain, py_out])
        python.append(seconds)
        python_peak.append(peak)
        print(f"python round {r + 1}: {seconds:.2f} s", file=sys.stderr)
    if os.path.exists(py_out):
        os.remove(py_out)

    verdict = subprocess.run([binary, "parse", chain, "--no-json"], capture_output=True, text=True).stdout.strip()
    med = {k: statistics.median(v) for k, v in times.items()}
    json_mb = os.path.getsize(json_out) / 1e6
    print()
    print(f"input: {chain}: {size_mb:.1f} MB; verdict: {verdict}; JSON {json_mb:.0f} MB")
    print(f"medians of {args.rounds} rounds (min-max), peak RSS:")
    labels = {"openssl": "openssl dgst -sha256", "validate": "parse --no-json", "json": "parse (with JSON)",
              "verify": "verify", "show": "show --format json"}
    for name, _ in commands:
        print(f"  {labels[name]:22} {med[name]:6.3f} s  ({min(times[name]):.3f}-{max(times[name]):.3f})  {max(peaks[name]):6.0f} MB")
    if python:
        print(f"  {'python_baseline.py':22} {statistics.median(python):6.3f} s  "
              f"({min(python):.3f}-{max(python):.3f})  {max(python_peak):6.0f} MB")
    # The targets are stated for the standard chain; on smaller inputs fixed costs dominate.
    standard = args.blocks == 119341
    print("ratios (same run):")
    print(f"  validation / openssl sha256:   {med['validate'] / med['openssl']:.2f}x"
          + ("  (target <= 3x)" if standard else ""))
    if python:
        print(f"  python baseline / parse+JSON:  {statistics.median(python) / med['json']:.1f}x"
              + ("  (target >= 20x, aim 40x)" if standard else ""))
    if args.show:
        print(f"  verify / parse --no-json:      {med['verify'] / med['validate']:.1f}x")
        print(f"  show --format json / parse:    {med['show'] / med['json']:.1f}x "
              f"({os.path.getsize(os.path.join(args.out, 'show.jsonl')) / 1e6:.0f} MB of JSON lines)")
    print(f"  peak RSS with JSON - input size: {max(peaks['json']) - size_mb:.0f} MB "
          f"(without JSON: {max(peaks['validate']) - size_mb:.0f} MB)")
    if args.check_json:
        start = time.perf_counter()
        check = subprocess.run([sys.executable, "-c",
                                "import json,sys; d=json.load(open(sys.argv[1])); print(d['height'], len(d['blocks']))",
                                json_out], capture_output=True, text=True)
        print(f"json.load: {check.stdout.strip() or check.stderr.strip()} ({time.perf_counter() - start:.1f} s)")
        if check.returncode != 0:
            sys.exit(1)


if __name__ == "__main__":
    main()
