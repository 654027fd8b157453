# SPDX-License-Identifier: GPL-2.0-only
"""Measure the edit-build-boot-verify loop; write scripts/benchmark-results.txt.

  .venv/bin/python scripts/benchmark.py [--base 6.12] [--cold] [--out FILE]

Every figure is the wall time of a real command on this machine, and each
mip6kit step is also given as a ratio to the bare tool measured in the same
run (`vng --run <bzImage> --disable-kvm -- true`), because absolute times on
these shared machines vary about 2x between machines.

--cold starts where a new user starts: a fresh `git clone` of this
checkout, set up with scripts/setup.sh, and an empty MIP6KIT_CACHE (ccache
included), then measures the same steps warm.  Without --cold, the steps run
on the current cache.  Times are measured here, never asserted in tests.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mip6kit import boot, guestpy
from mip6kit.cache import cache_root
from mip6kit.tree import DEBIAN_BASES, DEFAULT_BASE

ROOT = Path(__file__).resolve().parents[1]  # the checkout

ONE_TEST = "test_mh_bu_cmsg_hao"

# Where a verifier guest's time goes: printed by the guest, one "name: seconds"
# line each, first with Python reading everything over the 9p root, then from
# the tar of vm/guestpy.py unpacked into a tmpfs (what mip6kit runs do).
GUEST_BREAKDOWN = r"""
t() { date +%s.%N; }
m() { label=$1; shift; s=$(t); "$@" >/dev/null 2>&1; echo "$label: $(echo "$(t) - $s" | bc)"; }
echo "kernel boot until the command runs (/proc/uptime): $(cut -d' ' -f1 /proc/uptime)"
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
for mode in 9p tmpfs; do
  if [ $mode = tmpfs ]; then
    m "[tmpfs] unpack the verifier's Python tar into a tmpfs" sh -c "UNPACK"
    export PYTHONPATH=GUEST_PATH
    VERIFIER=GUEST_VERIFIER
  fi
  m "[$mode] python start" "$PY" -c pass
  for mod in pytest pyroute2 mip6kit.verifier.test_hao_checksum; do
    m "[$mode] python -c 'import $mod'" "$PY" -c "import $mod"
  done
  m "[$mode] python + pytest + pyroute2 + the module, one process" "$PY" -c \
    "import pytest, pyroute2, mip6kit.verifier.test_hao_checksum"
  m "[$mode] pytest collection of test_hao_checksum.py" "$PY" -m pytest --collect-only -q \
    -p no:cacheprovider -c /dev/null --rootdir "$VERIFIER" "$VERIFIER/test_hao_checksum.py"
  m "[$mode] the verifier on one test (collection and the call)" "$PY" -m \
    mip6kit.verifier.guest --modules=test_hao_checksum.py --skip-modules=test_selftest.py \
    -- -k ONE_TEST
done
m "ip netns add + del" sh -c "ip netns add bench && ip netns del bench"
""".replace("ONE_TEST", ONE_TEST).replace("UNPACK", guestpy.unpack("$TAR")).replace(
    "GUEST_PATH", guestpy.PYTHONPATH).replace(
    "GUEST_VERIFIER", f"{guestpy.GUEST_ROOT}/{guestpy.SITE}/mip6kit/verifier")


class Bench:
    def __init__(self, checkout: Path, env: dict):
        self.checkout = checkout
        self.env = env
        self.rows: list[tuple[str, float, int, str]] = []
        self.bare: float | None = None
        self.guest: list[str] = []

    def mip6kit(self, *args: str) -> list[str]:
        return [str(self.checkout / ".venv/bin/mip6kit"), "-q", *args]

    def measure(self, label: str, argv: list[str], cwd: Path | None = None) -> float:
        start = time.monotonic()
        res = subprocess.run(argv, env=self.env, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        seconds = time.monotonic() - start
        ratio = f"{seconds / self.bare:5.2f}x" if self.bare else "   - "
        self.rows.append((label, seconds, res.returncode, ratio))
        print(f"{seconds:7.1f} s  {ratio}  exit {res.returncode}  {label}", flush=True)
        if res.returncode != 0:
            print(res.stderr[-2000:], file=sys.stderr)
        return seconds

    def bare_vng(self, image: Path, label: str, *options: str) -> None:
        """Time `vng --run image --disable-kvm [options] -- true`; without
        options this is the unit of every ratio."""
        venv_bin = self.checkout / ".venv/bin"
        vng = shutil.which("vng", path=str(venv_bin)) or "vng"
        argv = [vng, "--run", str(image), "--disable-kvm", *options, "--", "true"]
        if not options:
            self.bare = None  # the unit is not a ratio to an older unit
        # vng runs virtme-run through PATH, as mip6kit boot does.
        saved, self.env = self.env, dict(self.env, PATH=f"{venv_bin}:{self.env['PATH']}")
        try:
            seconds = self.measure(label, argv)
        finally:
            self.env = saved
        if not options:
            self.bare = seconds
            self.rows[-1] = self.rows[-1][:3] + (" 1.00x",)

    def guest_breakdown(self, *args: str) -> list[str]:
        """Boot once and time the pieces of a verifier run inside the guest."""
        py = str(self.checkout / ".venv/bin/python3")
        tar = subprocess.run([py, "-c", "from mip6kit import guestpy; from mip6kit.cache import "
                              "cache_root; print(guestpy.bundle(cache_root()))"],
                             env=self.env, capture_output=True, text=True, check=True)
        script = (f"PY={py}; VERIFIER={self.checkout / 'verifier'}; "
                  f"TAR={tar.stdout.strip()}\n" + GUEST_BREAKDOWN)
        # a file, not sh -c: vng passes the command on the kernel command line,
        # which this script would overflow (2048 bytes on x86)
        with tempfile.NamedTemporaryFile("w", prefix="mip6kit-bench-", suffix=".sh") as f:
            f.write(script)
            f.flush()
            res = subprocess.run(self.mip6kit("boot", *args, "--no-kvm", "--", "sh", f.name),
                                 env=self.env, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"guest breakdown: boot exited {res.returncode}: {res.stderr[-1500:]}",
                  file=sys.stderr)
        lines = [ln for ln in res.stdout.splitlines() if ": " in ln]
        for ln in lines:
            print(f"  guest: {ln}", flush=True)
        return lines

    def image(self, *args: str) -> Path:
        out = subprocess.run(self.mip6kit("build", *args), env=self.env, capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()
        return Path(out[-1])


def tree_copy(base_src: Path, dest: Path) -> Path:
    """A user's own tree: a real copy (never hard links into the cache)."""
    if not (dest / "Makefile").is_file():
        subprocess.run(["rsync", "-a", "--delete", f"{base_src}/", f"{dest}/"], check=True)
    return dest


def run(bench: Bench, base: str, cache: Path, cold: bool) -> None:
    b = ["--base", base]
    if cold:
        bench.measure(f"cold build, baseline {base} (empty cache and ccache)",
                      bench.mip6kit("build", *b, "--baseline"))
        bench.measure(f"cold build, patched {base} (ccache warm from the baseline)",
                      bench.mip6kit("build", *b))
    image = bench.image(*b, "--baseline")
    bench.bare_vng(image, "bare vng --run bzImage --disable-kvm -- true (the unit)")
    bench.bare_vng(image, "bare vng as mip6kit runs it (--force-9p, 9p cache=loose)",
                   "--force-9p", "--append", boot.ROOTFLAGS)
    bench.measure("warm no-op build (sync, config stamp, make)",
                  bench.mip6kit("build", *b, "--baseline"))
    for i in (1, 2):
        bench.measure(f"warm boot -- true, nothing changed ({i}/2)",
                      bench.mip6kit("boot", *b, "--baseline", "--no-kvm", "--", "true"))
    bench.measure(f"warm run -k {ONE_TEST}, both kernels",
                  bench.mip6kit("run", *b, "--no-kvm", "-k", ONE_TEST))
    user_tree = tree_copy(cache / "sources" / f"linux-source-{base}",
                          cache.parent / f"mip6kit-bench-tree-{base}")  # outside the cache
    tb = ["--tree", str(user_tree)]
    bench.measure("first run on a new --tree (ccache warm), baseline only, one test",
                  bench.mip6kit("run", *tb, "--baseline-only", "--no-kvm", "-k", ONE_TEST))
    os.utime(user_tree / "net/ipv6/raw.c")
    bench.measure(f"edit to verdict: touch raw.c in --tree, run --baseline-only -k {ONE_TEST}",
                  bench.mip6kit("run", *tb, "--baseline-only", "--no-kvm", "-k", ONE_TEST))
    bench.measure("full run, both kernels, every test", bench.mip6kit("run", *b, "--no-kvm"))
    bench.guest = bench.guest_breakdown(*b, "--baseline")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=DEFAULT_BASE, choices=list(DEBIAN_BASES))
    ap.add_argument("--cold", action="store_true",
                    help="fresh clone + empty cache first (adds two cold kernel builds)")
    ap.add_argument("--out", type=Path, default=ROOT / "scripts/benchmark-results.txt")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mip6kit-bench-") as tmp:
        if args.cold:
            checkout = Path(tmp) / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(checkout)],
                           check=True)
            cache = Path(tmp) / "cache"
            env = dict(os.environ, MIP6KIT_CACHE=str(cache))
            bench = Bench(checkout, env)
            bench.measure("setup of the fresh clone (scripts/setup.sh)",
                          [str(checkout / "scripts/setup.sh")], cwd=checkout)
        else:
            checkout, cache = ROOT, cache_root()
            bench = Bench(checkout, dict(os.environ))
        run(bench, args.base, cache, args.cold)
    lines = [
        f"# mip6kit benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"# host: {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, base {args.base}, TCG guests",
        "# regenerate: .venv/bin/python scripts/benchmark.py" + (" --cold" if args.cold else ""),
        "# ratio: seconds / the bare vng boot measured in the same run",
        f"{'seconds':>8}  {'ratio':>6}  {'exit':>4}  step",
    ]
    lines += [f"{s:8.1f}  {r:>6}  {rc:4d}  {label}" for label, s, rc, r in bench.rows]
    lines += ["", "# inside one TCG guest (seconds, from the guest's clock):"]
    lines += [f"#   {ln}" for ln in bench.guest]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(rc == 0 for _, _, rc, _ in bench.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
