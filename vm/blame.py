# SPDX-License-Identifier: GPL-2.0-only
"""Which patch of a series wrote each line of the files it touches.

The files are staged as the tree (and overlay) has them, then the patches
are applied one at a time; after each, the lines it inserted or replaced
are the patch's, and the lines it kept keep their owner.  The change is
read back with git diff --no-index, the diff the patches were made with:
it places an added block that repeats nearby lines (a second `return
-EINVAL; }`) where the patch has it, which difflib does not.  The result
names, for every line of the final file that some patch added or changed,
the last patch that did.
"""

import re
import shutil
import tempfile
from pathlib import Path

from . import scratch
from .proc import Runner

# What is not built into the kernel: the selftests and their helpers.
NOT_KERNEL = ("tools/", "Documentation/", "scripts/")


def kernel_paths(patches: list[Path]) -> list[str]:
    """The kernel sources (.c and .h) the series touches."""
    return sorted(p for p in scratch.touched_paths(patches)
                  if p.endswith((".c", ".h")) and not p.startswith(NOT_KERNEL))


def origins(origin: Path, overlay: Path, patches: list[Path], names: list[str],
            runner: Runner) -> dict[str, dict[int, str]]:
    """{path: {line number (1-based) in the final file: patch name}} for
    the kernel sources the series touches; names[i] names patches[i]."""
    paths = kernel_paths(patches)
    with tempfile.TemporaryDirectory(prefix="mip6kit-blame-") as tmp:
        stage, before = Path(tmp) / "stage", Path(tmp) / "before"
        stage.mkdir()
        # every file the series touches, or a patch fails
        scratch.copy_sources(origin, overlay, scratch.touched_paths(patches), stage)
        lines = {rel: _read(stage / rel) for rel in paths}
        owners = {rel: [None] * len(lines[rel]) for rel in paths}
        for patch, name in zip(patches, names, strict=True):
            for rel in paths:
                _copy(stage / rel, before / rel)
            scratch.apply_patch(stage, patch, origin, announce=False)
            for rel in paths:
                new = _read(stage / rel)
                if new != lines[rel]:
                    owners[rel] = _carry(before / rel, stage / rel, owners[rel], name,
                                         len(new), runner)
                    lines[rel] = new
    return {rel: {i + 1: o for i, o in enumerate(own) if o is not None}
            for rel, own in owners.items()}


def _read(f: Path) -> list[str]:
    return f.read_text(errors="replace").splitlines() if f.is_file() else []


def _copy(f: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if f.is_file():
        shutil.copyfile(f, dest)
    else:
        dest.write_text("")


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)


def _carry(old: Path, new: Path, owners: list[str | None], name: str,
           new_len: int, runner: Runner) -> list[str | None]:
    """owners of new's lines: name for the lines the change added, the old
    owner for the lines it kept."""
    # not checked: git diff --no-index exits 1 when the files differ
    res = runner.run(["git", "diff", "--no-index", "--no-color", "-U0", "--",
                      str(old), str(new)], capture=True, check=False, query=True)
    out: list[str | None] = []
    i = 0  # next old line (0-based) to carry
    for m in _HUNK.finditer(res.stdout):
        o_start, o_len = int(m.group(1)), int(m.group(2) or 1)
        n_start, n_len = int(m.group(3)), int(m.group(4) or 1)
        keep_to = o_start - 1 if o_len else o_start  # old lines before the hunk
        out += owners[i:keep_to]
        out += [name] * n_len
        i = keep_to + o_len
        assert len(out) == (n_start - 1 if n_len else n_start) + n_len
    out += owners[i:]
    assert len(out) == new_len, f"{new}: {len(out)} owners for {new_len} lines"
    return out
