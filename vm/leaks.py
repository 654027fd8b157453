# SPDX-License-Identifier: GPL-2.0-only
"""Leaks a guest reported: kmemleak's unreferenced objects (leaks.json,
written by the guest after its scans, each with the test that was running
when the object was allocated) and the refcount trackers' reports on the
console (a netdev or netns reference never put)."""

import json
import logging
import sys
import tempfile
from pathlib import Path

from mip6kit.verifier import handoff, splat

log = logging.getLogger(__name__)


def found(outdir: Path) -> list[str]:
    """The leak reports of the guest whose files are in outdir."""
    out = []
    path = outdir / "leaks.json"
    if path.is_file():
        try:
            entries = json.loads(path.read_text())
        except ValueError:
            entries = [{"test": None, "report": f"{path} is damaged"}]
        for e in entries:
            during = e.get("test") or "no test (allocated between tests)"
            out.append(f"kmemleak, allocated during {during}:\n{e.get('report', '')}")
    console = outdir / "console.log"
    if console.is_file():
        # the trackers' reports only: kmemleak's objects come from leaks.json
        hit = splat.find(console.read_text(errors="replace"), {splat.REF_TRACKER}, 30)
        if hit is not None:
            out.append(f"refcount tracker: {hit.line}\n{hit.excerpt}")
    return out


def report(rundir: Path, variants: list[str]) -> bool:
    """Log and write rundir/leaks.txt; True when some guest leaked."""
    text = []
    for variant in variants:
        for entry in found(rundir / variant):
            text.append(f"[{variant}] {entry}")
    if not text:
        return False
    dest = rundir / "leaks.txt"
    dest.write_text("\n\n".join(text) + "\n")
    first = text[0].splitlines()
    log.error("%d leak reports (all in %s); the first:\n  %s", len(text), dest,
              "\n  ".join(first[:25]))
    return True


def main(argv: list[str]) -> int:
    """python -m mip6kit.leaks GUEST_STDOUT CONSOLE: the leaks of a guest
    run by `mip6kit boot` (whose handoff lines stay in its stdout), as the
    fuzz campaign needs; exit 1 when there are some."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m mip6kit.leaks GUEST_STDOUT CONSOLE\n")
        return 2
    stdout, console = Path(argv[0]), Path(argv[1])
    with tempfile.TemporaryDirectory(prefix="mip6kit-leaks-") as tmp:
        out = Path(tmp)
        for line in stdout.read_bytes().splitlines(keepends=True):
            if line.startswith(handoff.PREFIX):
                name, data = handoff.decode(line)
                if name == "leaks.json":
                    (out / name).write_bytes(data)
        if console.is_file():
            (out / "console.log").write_bytes(console.read_bytes())
        reports = found(out)
        scanned = (out / "leaks.json").is_file()
    print(f"kmemleak {'scanned' if scanned else 'NOT scanned (no kmemleak in this kernel)'}"
          f", {len(reports)} leak reports")
    for r in reports:
        print(r)
    return 1 if reports or not scanned else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
