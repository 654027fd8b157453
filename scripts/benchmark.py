# SPDX-License-Identifier: GPL-2.0-only
"""Measure build, boot and verifier times; write scripts/benchmark-results.txt.

  .venv/bin/python scripts/benchmark.py [--base 6.12] [--cold] [--out FILE]

Each figure is the wall time of a real mip6kit command on this machine.
--cold also builds once with an empty cache and ccache disabled (about
10 minutes on 2 cores).  Times are measured here, never asserted in tests.
"""

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mip6kit import project_root
from mip6kit.vm.cache import cache_root


def timed(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    start = time.monotonic()
    res = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    return time.monotonic() - start, res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="6.12", choices=["6.12", "6.1"])
    ap.add_argument("--cold", action="store_true", help="also measure a cold build")
    ap.add_argument("--boots", type=int, default=3, help="boots to average (default 3)")
    ap.add_argument("--out", type=Path, default=project_root() / "scripts/benchmark-results.txt")
    args = ap.parse_args()
    mip6kit = [sys.executable, "-m", "mip6kit", "-q"]
    base = ["--base", args.base]
    rows: list[tuple[str, str, float, int]] = []

    def measure(label: str, argv: list[str], env: dict | None = None) -> None:
        seconds, rc = timed(argv, env)
        rows.append((label, shlex.join(argv[2:]), seconds, rc))
        print(f"{label}: {seconds:.1f} s (exit {rc})", flush=True)

    if args.cold:
        with tempfile.TemporaryDirectory(prefix="mip6kit-cold-") as tmp:
            env = dict(os.environ, MIP6KIT_CACHE=tmp, CCACHE_DISABLE="1")
            measure("cold baseline build, empty cache, no ccache",
                    mip6kit + ["build", *base, "--baseline"], env)
            measure("patched build seeded from the baseline build",
                    mip6kit + ["build", *base], env)
    measure("baseline build, warm (sync, config check, no-op make)",
            mip6kit + ["build", *base, "--baseline"])
    src = next((cache_root() / "work").glob("linux-source-" + args.base + "-*/src"), None)
    if src is not None:
        os.utime(src / "net/ipv6/raw.c")
        measure("touch net/ipv6/raw.c, rebuild", mip6kit + ["build", *base, "--baseline"])
    for i in range(args.boots):
        measure(f"no-op build check + boot + 'true' in the guest, TCG ({i + 1}/{args.boots})",
                mip6kit + ["boot", *base, "--baseline", "--no-kvm", "--", "true"])
    measure("mip6kit run (both variants built, verifier in each guest)",
            mip6kit + ["run", *base, "--no-kvm"])

    lines = [
        f"# mip6kit benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"# host: {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, base {args.base}",
        "# regenerate: .venv/bin/python scripts/benchmark.py"
        + (" --cold" if args.cold else ""),
        f"{'seconds':>8}  {'exit':>4}  what (command)",
    ]
    lines += [f"{s:8.1f}  {rc:4d}  {label} ({cmd})" for label, cmd, s, rc in rows]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(rc == 0 for *_, rc in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
