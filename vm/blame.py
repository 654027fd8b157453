# SPDX-License-Identifier: GPL-2.0-only
"""Which patch of a series wrote each line of the files it touches.

The files are staged as the tree (and overlay) has them, then the patches
are applied one at a time; after each, the lines it inserted or replaced
(difflib, line by line) are the patch's, and the lines it kept keep their
owner.  The result names, for every line of the final file that some
patch added or changed, the last patch that did.
"""

import difflib
import shutil
import tempfile
from pathlib import Path

from . import scratch

# What is not built into the kernel: the selftests and their helpers.
NOT_KERNEL = ("tools/", "Documentation/", "scripts/")


def kernel_paths(patches: list[Path]) -> list[str]:
    """The kernel sources (.c and .h) the series touches."""
    return sorted(p for p in scratch.touched_paths(patches)
                  if p.endswith((".c", ".h")) and not p.startswith(NOT_KERNEL))


def origins(origin: Path, overlay: Path, patches: list[Path],
            names: list[str]) -> dict[str, dict[int, str]]:
    """{path: {line number (1-based) in the final file: patch name}} for
    the kernel sources the series touches; names[i] names patches[i]."""
    paths = kernel_paths(patches)
    with tempfile.TemporaryDirectory(prefix="mip6kit-blame-") as tmp:
        stage = Path(tmp)
        for rel in scratch.touched_paths(patches):  # every file, or a patch fails
            for root in (overlay, origin):
                if (root / rel).is_file():
                    (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(root / rel, stage / rel)
                    break
        lines = {rel: _read(stage / rel) for rel in paths}
        owners = {rel: [None] * len(lines[rel]) for rel in paths}
        for patch, name in zip(patches, names, strict=True):
            scratch.apply_patch(stage, patch, origin, announce=False)
            for rel in paths:
                new = _read(stage / rel)
                if new != lines[rel]:
                    owners[rel] = _carry(lines[rel], new, owners[rel], name)
                    lines[rel] = new
    return {rel: {i + 1: o for i, o in enumerate(own) if o is not None}
            for rel, own in owners.items()}


def _read(f: Path) -> list[str]:
    return f.read_text(errors="replace").splitlines() if f.is_file() else []


def _carry(old: list[str], new: list[str], owners: list[str | None],
           name: str) -> list[str | None]:
    out: list[str | None] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out += owners[i1:i2] if tag == "equal" else [name] * (j2 - j1)
    return out
