# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit export`: the series in the form a packager carries it.

quilt   DIR/series and the patches, as they are.
debian  DIR/debian/patches/mip6kit/*.patch with DEP-3 headers, and
        DIR/debian/patches/series.mip6kit, the lines to append to the
        package's debian/patches/series.
rpm     DIR/*.patch, DIR/patches.spec (PatchNNNN: lines for the preamble)
        and DIR/apply.spec (the %patch lines for %prep).

Only the patches the series file names are exported (not the cover letter).
DIR must not exist or be empty: nothing is ever overwritten.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from . import tree
from .errors import MipError

FORMATS = ("quilt", "debian", "rpm")
RPM_FIRST = 9001  # far above the Patch numbers a distribution kernel spec uses


@dataclass(frozen=True)
class Patch:
    path: Path
    author: str
    date: datetime
    subject: str  # without the [PATCH n/m] tag
    description: str  # the commit message body, trailers included
    diff: str  # from the diffstat on, as git format-patch wrote it


def parse(path: Path) -> Patch:
    """A git format-patch file: mbox From_ line, mail headers, message, '---', diff."""
    text = path.read_text()
    if text.startswith("From "):
        text = text.split("\n", 1)[1]
    head, sep, rest = text.partition("\n\n")
    msg = email.message_from_string(head + "\n\n", policy=email.policy.default)
    body, sep2, diff = rest.partition("\n---\n")
    if not (sep and sep2 and msg["From"] and msg["Subject"] and msg["Date"]):
        raise MipError(f"{path}: not a git format-patch file (From:, Date:, Subject:, "
                       "a message and a '---' line before the diff)")
    subject = re.sub(r"^\[PATCH[^\]]*\]\s*", "", " ".join(str(msg["Subject"]).split()))
    return Patch(path, str(msg["From"]), parsedate_to_datetime(str(msg["Date"])), subject,
                 body.strip("\n"), diff)


def flat_name(path: Path, series_dir: Path) -> str:
    """The exported file name: a patch of a tree's directory keeps the tree
    in its name (ipsec/0001-x.patch -> ipsec-0001-x.patch), so that names
    stay unique and sort in the series' order within a tree."""
    return "-".join(path.relative_to(series_dir).parts)


def dep3(p: Patch, base: str, rel: str) -> str:
    """The patch with a DEP-3 header (https://dep-team.pages.debian.net/deps/dep3/)."""
    lines = [f"Description: {p.subject}"]
    lines += [f" {line}" if line.strip() else " ." for line in p.description.splitlines()]
    lines += [f"Author: {p.author}",
              f"Origin: other, mip6kit patches/{base}/{rel}",
              "Forwarded: no",
              f"Last-Update: {p.date:%Y-%m-%d}",
              "---", p.diff]
    return "\n".join(lines)


def export(fmt: str, series_dir: Path, out: Path) -> list[Path]:
    """Write the export; return the files written."""
    if fmt not in FORMATS:
        raise MipError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MipError(f"{out} exists and is not empty: export writes into a new or empty "
                       "directory, so that nothing is overwritten")
    patches = [parse(p) for p in tree.read_series(series_dir)]
    base = series_dir.name
    names = {p.path: flat_name(p.path, series_dir) for p in patches}
    files: dict[Path, str] = {}
    if fmt == "quilt":
        files[out / "series"] = "".join(f"{names[p.path]}\n" for p in patches)
        files.update({out / names[p.path]: p.path.read_text() for p in patches})
    elif fmt == "debian":
        pdir = out / "debian/patches"
        files[pdir / "series.mip6kit"] = "".join(f"mip6kit/{names[p.path]}\n" for p in patches)
        files.update({pdir / "mip6kit" / names[p.path]:
                      dep3(p, base, str(p.path.relative_to(series_dir))) for p in patches})
    else:
        numbered = list(enumerate(patches, RPM_FIRST))
        files[out / "patches.spec"] = "".join(
            f"Patch{n}: {names[p.path]}\n" for n, p in numbered)
        files[out / "apply.spec"] = "".join(f"%patch -P {n} -p1\n" for n, _ in numbered)
        files.update({out / names[p.path]: p.path.read_text() for p in patches})
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)
