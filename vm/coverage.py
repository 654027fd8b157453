# SPDX-License-Identifier: GPL-2.0-only
"""Line coverage of the series' own lines (mip6kit coverage).

The coverage profile (vm/profiles/coverage.config) builds with
CONFIG_GCOV_KERNEL; profiling is switched on for the directories holding
a .c file the series touches, by a GCOV_PROFILE line that the scratch copy
(never the user's tree) appends to their Makefiles.  The guest zeroes the
counters before the verifier and hands the .gcda files back as gcov.tar;
the host runs gcov on them against the build dir's .gcno files, and
vm/blame.py says which patch wrote each line.
"""

import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from . import blame, preproc
from .errors import MipError
from .proc import Runner

GCOV_LINE = ("\n# mip6kit: gcov for the coverage profile, in the scratch copy only "
             "(no effect unless CONFIG_GCOV_KERNEL=y)\nGCOV_PROFILE := y\n")


def makefile_appends(patches: list[Path]) -> dict[str, str]:
    """{dir/Makefile: GCOV_LINE} for every directory of a .c file the series touches."""
    dirs = {str(Path(p).parent) for p in blame.kernel_paths(patches) if p.endswith(".c")}
    return {f"{d}/Makefile": GCOV_LINE for d in sorted(dirs)}


# --- the guest's counters -> per-line counts -------------------------------

def unpack(tar_bytes: bytes, builddir: Path, dest: Path) -> list[Path]:
    """The guest's gcov.tar as dest/<object dir>/<name>.gcda, each beside a
    link to its build dir's .gcno; the .gcda paths."""
    prefix = str(builddir).lstrip("/") + "/"
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            rel = Path(member.name[len(prefix):])
            if ".." in rel.parts or rel.suffix != ".gcda":
                continue
            gcno = builddir / rel.with_suffix(".gcno")
            if not gcno.is_file():
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            target.write_bytes(extracted.read())
            target.with_suffix(".gcno").symlink_to(gcno)
            out.append(target)
    return out


def line_counts(gcdas: list[Path], src: Path, runner: Runner) -> dict[str, dict[int, int]]:
    """{source path relative to src: {line: count}}, summed over objects
    (a header's inline function is counted in each object that uses it)."""
    counts: dict[str, dict[int, int]] = {}
    for gcda in gcdas:
        res = runner.run(["gcov", "--json-format", "--stdout", "--object-directory",
                          str(gcda.parent), str(gcda)], cwd=gcda.parent, capture=True,
                         check=False, query=True)
        if res.returncode != 0:
            raise MipError(f"gcov failed on {gcda}: {res.stderr}")
        for doc in res.stdout.splitlines():
            if not doc.strip():
                continue
            data = json.loads(doc)
            cwd = data.get("current_working_directory", "")
            for f in data.get("files", []):
                path = Path(os.path.normpath(os.path.join(cwd, f["file"])))
                if not path.is_relative_to(src):
                    continue
                per = counts.setdefault(str(path.relative_to(src)), {})
                for ln in f.get("lines", []):
                    n = ln["line_number"]
                    per[n] = per.get(n, 0) + ln["count"]
    return counts


# --- each line the series wrote, classified ---------------------------------

EXECUTED, MISSED, COMPILED_OUT, NOT_BUILT, NO_CODE = (
    "executed", "missed", "compiled out", "not built", "no code")


@dataclass
class Line:
    patch: str
    path: str
    number: int
    text: str
    status: str
    count: int | None = None
    reason: str = ""


def classify(src: Path, builddir: Path, owners: dict[str, dict[int, str]],
             counts: dict[str, dict[int, int]], config: dict[str, str]) -> list[Line]:
    """Every line a patch wrote in a kernel source, with what became of it."""
    out = []
    for path, lines in sorted(owners.items()):
        text = (src / path).read_text(errors="replace").splitlines()
        missing = _not_built(src, builddir, path, config) if path.endswith(".c") else ""
        off = preproc.inactive(text, config)
        per = counts.get(path, {})
        for n, patch in sorted(lines.items()):
            body = text[n - 1].strip() if n <= len(text) else ""
            if missing:
                out.append(Line(patch, path, n, body, NOT_BUILT, reason=missing))
            elif n in off:
                out.append(Line(patch, path, n, body, COMPILED_OUT, reason=off[n]))
            elif n in per:
                out.append(Line(patch, path, n, body, EXECUTED if per[n] else MISSED, per[n]))
            else:
                out.append(Line(patch, path, n, body, NO_CODE))
    return out


def _not_built(src: Path, builddir: Path, path: str, config: dict[str, str]) -> str:
    """Why path's object is not in this kernel ('' when it is)."""
    obj = Path(path).with_suffix(".o")
    if (builddir / obj).is_file():
        return ""
    makefile = src / obj.parent / "Makefile"
    text = makefile.read_text(errors="replace") if makefile.is_file() else ""
    for m in re.finditer(rf"^[\w-]*\$\(CONFIG_(\w+)\)\s*[+:]?=.*\b{re.escape(obj.name)}\b",
                         text, re.M):
        sym = m.group(1)
        return f"CONFIG_{sym}={config.get(sym, 'n')} in this profile ({obj.parent}/Makefile)"
    return f"{obj} is not built in this profile"
