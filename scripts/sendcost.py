# SPDX-License-Identifier: GPL-2.0-only
"""Runtime cost of the series on the send path: baseline against patched.

  .venv/bin/python scripts/sendcost.py [--base 6.12] [--reps 3] [--count 50000]
                                       [--out scripts/sendcost-results.txt]

scripts/sendcost.c is compiled here and run in the guest (which shares the
host's userspace), in boots that alternate between the baseline and the
patched kernel (lean profile), REPS boots each.  Every boot measures, into
a dummy device: UDP with no options, UDP with a sticky non-HAO destination
option, and raw MH Binding Updates, ROUNDS times each after one warm-up
round, and keeps the median round.

The guest runs with qemu's `-icount shift=0,sleep=off`: its clock advances
one nanosecond per guest instruction, so "sends per second" is 10^9 divided
by the guest instructions one send takes.  That makes the figure a cost
count that host load does not disturb (wall-clock rates under TCG spread by
40-55 % between boots here), at the price of weighing every instruction
alike (no caches, no branch prediction).  The table gives per mode and
kernel the median, the spread (min-max, as % of the median) and the
patched/baseline ratio of the medians.  Measured here, never asserted in a
test.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mip6kit.tree import DEBIAN_BASES

ROOT = Path(__file__).resolve().parents[1]  # the checkout

MODES = ("udp", "udp-dstopt", "mh")
ROUNDS = 3
ICOUNT = "-icount shift=0,sleep=off"
DST = "2001:db8:f::2"
SETUP = ("ip link add d0 type dummy && ip link set d0 up && "
         "ip -6 addr add 2001:db8:f::1/64 dev d0 nodad")


def boot_once(base: str, kernel: str, binary: Path, count: int) -> dict[str, float]:
    runs = " && ".join(f"{binary} {m} {DST} {count}" for m in MODES for _ in range(ROUNDS + 1))
    variant = ["--baseline"] if kernel == "baseline" else []
    with tempfile.TemporaryDirectory() as run_dir:
        res = subprocess.run([sys.executable, "-m", "mip6kit", "-q", "boot", "--base", base,
                              *variant, "--run-dir", run_dir, f"--qemu-opt={ICOUNT}",
                              "--no-kvm", "--", "sh", "-c",
                              f"{SETUP} && {runs}"], capture_output=True, text=True,
                             cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"{base} {kernel} guest failed ({res.returncode}):\n{res.stderr}")
    rounds: dict[str, list[float]] = {m: [] for m in MODES}
    for line in res.stdout.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in MODES:
            rounds[words[0]].append(float(words[1]))
    return {m: statistics.median(xs[1:]) for m, xs in rounds.items()}  # [0]: warm-up


def table(base: str, samples: dict[str, dict[str, list[float]]], count: int) -> str:
    lines = [f"base {base}: sends per (instruction-counted) second, median of "
             f"{len(samples['baseline']['udp'])} boots each (each the median of {ROUNDS} "
             f"rounds of {count} sends), spread = (max-min)/median",
             f"  {'mode':<11} {'baseline':>10} {'spread':>7} {'patched':>10} {'spread':>7}"
             f" {'ratio':>6}"]
    for mode in MODES:
        cells = []
        med = {}
        for kernel in ("baseline", "patched"):
            xs = samples[kernel][mode]
            med[kernel] = statistics.median(xs)
            cells.append(f"{med[kernel]:>10.0f} {100 * (max(xs) - min(xs)) / med[kernel]:>6.1f}%")
        lines.append(f"  {mode:<11} {cells[0]} {cells[1]} {med['patched'] / med['baseline']:>6.3f}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", action="append", choices=list(DEBIAN_BASES))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--count", type=int, default=50000)
    ap.add_argument("--out", type=Path, default=ROOT / "scripts/sendcost-results.txt")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "sendcost"
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary),
                        str(ROOT / "scripts/sendcost.c")], check=True)
        stamp = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
        text = [f"# sendcost {stamp}: scripts/sendcost.py --reps {args.reps} "
                f"--count {args.count}, TCG with {ICOUNT}"]
        for base in args.base or list(DEBIAN_BASES):
            samples = {k: {m: [] for m in MODES} for k in ("baseline", "patched")}
            for _ in range(args.reps):
                for kernel in ("baseline", "patched"):  # alternating boots
                    for mode, rate in boot_once(base, kernel, binary, args.count).items():
                        samples[kernel][mode].append(rate)
            text.append(table(base, samples, args.count))
            print(text[-1], flush=True)
    with args.out.open("a") as out:
        out.write("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
