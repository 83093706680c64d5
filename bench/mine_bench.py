#!/usr/bin/env python3
"""blocksmith chain mining benchmark: the miner's nonces per second against
`openssl speed -evp sha256 -bytes 64` on one core, measured in the same run.

One nonce with a midstate costs two SHA-256 compressions (the header's second block, then the
second SHA-256 of the digest); one 64-byte openssl operation costs the same two (the block and
its padding). Rounds alternate: openssl, the miner on one thread, the miner on two threads, and
the same search written with swift-crypto's SHA256 type alone (for comparison);
the report takes each one's median. Targets: at least 0.5x openssl per core, and two threads
at least 1.8x one thread.

    python3 bench/mine_bench.py [--seconds 3] [--rounds 3] [--smoke]
"""
import argparse, os, re, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def openssl_rate(seconds):
    out = subprocess.run(["openssl", "speed", "-evp", "sha256", "-bytes", "64", "-seconds", str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"^sha256\s+([\d.]+)k", out, re.M)
    if not match:
        sys.exit(f"cannot read openssl's output: {out}")
    return float(match.group(1)) * 1000 / 64


def miner_rate(binary, threads, seconds, library=False):
    out = subprocess.run([binary, "chain", "hashrate", "--threads", str(threads), "--seconds", str(seconds)] + (["--library"] if library else []),
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/blocksmith"))
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="one short round; fails only if a measurement fails")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rounds = 1, 1
    cores = os.cpu_count()
    rates = {"openssl": [], "one": [], "two": [], "library": []}
    for r in range(args.rounds):
        rates["openssl"].append(openssl_rate(args.seconds))
        rates["one"].append(miner_rate(args.binary, 1, args.seconds))
        rates["two"].append(miner_rate(args.binary, 2, args.seconds))
        rates["library"].append(miner_rate(args.binary, 1, args.seconds, library=True))
        print(f"round {r + 1}: openssl {rates['openssl'][-1] / 1e6:.2f} M/s, miner 1 thread {rates['one'][-1] / 1e6:.2f} M/s, "
              f"2 threads {rates['two'][-1] / 1e6:.2f} M/s, swift-crypto SHA256 alone {rates['library'][-1] / 1e6:.2f} M/s", flush=True)
    openssl, one, two, library = (statistics.median(rates[k]) for k in ("openssl", "one", "two", "library"))
    per_core = one / openssl
    scaling = two / one
    print(f"\nmedians over {args.rounds} rounds of {args.seconds} s on {cores} cores:")
    print(f"  openssl sha256, 64-byte inputs, one core   {openssl / 1e6:8.2f} M ops/s   (yardstick)")
    print(f"  miner, 1 thread                            {one / 1e6:8.2f} M nonces/s  {per_core:.2f}x per core  (target >= 0.5)")
    print(f"  miner, 2 threads                           {two / 1e6:8.2f} M nonces/s  {scaling:.2f}x one thread  (target >= 1.8)"
          + ("" if cores >= 2 else "  (one core: not meaningful)"))
    print(f"  swift-crypto SHA256 alone, 1 thread        {library / 1e6:8.2f} M nonces/s  {library / openssl:.2f}x per core  (why the miner drives the compression function)")
    if not args.smoke:
        missed = [name for name, ok in (("per core", per_core >= 0.5), ("scaling", scaling >= 1.8 or cores < 2)) if not ok]
        if missed:
            print("missed: " + ", ".join(missed))


if __name__ == "__main__":
    main()
