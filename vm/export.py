# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit export`: the series in the form a packager carries it.

quilt   DIR/series and the patches, as they are.
debian  DEP-3 headers, and DIR/debian/patches/series.mip6kit, the lines to
        append to the package's debian/patches/series.  Layout "flat":
        DIR/debian/patches/mip6kit/*.patch; layout "debian-kernel", the
        kernel team's: a fix (a Fixes: tag, or a patch of a fixes tree:
        ipsec, net) in bugfix/all/, the others in features/all/.
rpm     DIR/*.patch, DIR/patches.spec (PatchNNNN: lines for the preamble)
        and DIR/apply.spec (the %patch lines for %prep).

Only the patches the series file names are exported (not the cover
letter), or the subset named by --patches.  DIR must not exist or be
empty: nothing is ever overwritten.  A dry run writes nothing and returns
what it would write.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from . import series, tree
from .errors import MipError

FORMATS = ("quilt", "debian", "rpm")
LAYOUTS = ("flat", "debian-kernel")
UPSTREAM = re.compile(r"^commit ([0-9a-f]{40}) upstream\.$", re.M)  # a stable backport
MAINLINE = "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id="
FIX_TREES = ("ipsec", "net")  # the trees that take fixes only
RPM_FIRST = 9001  # far above the Patch numbers a distribution kernel spec uses


@dataclass(frozen=True)
class Patch:
    path: Path
    author: str
    date: datetime
    subject: str  # without the [PATCH n/m] tag
    description: str  # the commit message body, trailers included
    diff: str  # from the diffstat on, as git format-patch wrote it

    @property
    def fixes(self) -> bool:
        """A bug fix, for the Debian kernel's bugfix/all: a Fixes: tag, or a
        patch for a fixes tree (one whose Fixes: the sender adds)."""
        return (re.search(r"^Fixes: ", self.description, re.M) is not None
                or self.path.parent.name in FIX_TREES)


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


@dataclass(frozen=True)
class Dep3:
    """What a packager fills in: where the patch comes from, the bug it
    fixes, and where it was forwarded."""

    origin_url: str | None = None  # the project's patches/ folder, as a URL
    bug: str | None = None
    forwarded: str = "no"


def dep3(p: Patch, base: str, rel: str, meta: Dep3 = Dep3()) -> str:
    """The patch with a DEP-3 header (https://dep-team.pages.debian.net/deps/dep3/)."""
    lines = [f"Description: {p.subject}"]
    lines += [f" {line}" if line.strip() else " ." for line in p.description.splitlines()]
    lines += [f"Author: {p.author}", f"Origin: {origin(p, base, rel, meta)}"]
    if meta.bug:
        lines.append(f"Bug: {meta.bug}")
    lines += [f"Forwarded: {meta.forwarded}", f"Last-Update: {p.date:%Y-%m-%d}", "---", p.diff]
    return "\n".join(lines)


def origin(p: Patch, base: str, rel: str, meta: Dep3) -> str:
    """A stable backport names its mainline commit; the others their file in
    this project, as a URL when the packager gives one."""
    if (m := UPSTREAM.search(p.description)):
        return f"backport, {MAINLINE}{m.group(1)}"
    where = f"{meta.origin_url.rstrip('/')}/{base}/{rel}" if meta.origin_url else \
        f"mip6kit patches/{base}/{rel}"
    return f"other, {where}"


def select(patches: list[Patch], only: list[str] | None) -> list[Patch]:
    """The patches named (by their marker names, e.g.
    ipv6-raw-use-the-home-address-for-the-checksum), in series order."""
    if not only:
        return patches
    known = {series.slug(p.path): p for p in patches}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise MipError(f"--patches: no patch {', '.join(unknown)} in this series; it has: "
                       + ", ".join(known))
    return [p for p in patches if series.slug(p.path) in set(only)]


def export(fmt: str, series_dir: Path, out: Path, *, only: list[str] | None = None,
           layout: str = "flat", meta: Dep3 = Dep3(),
           dry_run: bool = False) -> list[Path]:
    """Write the export (not in a dry run); return the files it writes."""
    if fmt not in FORMATS:
        raise MipError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if layout != "flat" and fmt != "debian":
        raise MipError(f"--layout {layout} is a Debian layout: use it with --format debian")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MipError(f"{out} exists and is not empty: export writes into a new or empty "
                       "directory, so that nothing is overwritten")
    patches = select([parse(p) for p in tree.read_series(series_dir)], only)
    files = _files(fmt, series_dir, out, patches, layout, meta)
    if not dry_run:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return sorted(files)


def _files(fmt: str, series_dir: Path, out: Path, patches: list[Patch], layout: str,
           meta: Dep3) -> dict[Path, str]:
    base = series_dir.name
    names = {p.path: flat_name(p.path, series_dir) for p in patches}
    files: dict[Path, str] = {}
    if fmt == "quilt":
        files[out / "series"] = "".join(f"{names[p.path]}\n" for p in patches)
        files.update({out / names[p.path]: p.path.read_text() for p in patches})
    elif fmt == "debian":
        pdir = out / "debian/patches"

        def where(p: Patch) -> str:
            if layout == "flat":
                return f"mip6kit/{names[p.path]}"
            return f"{'bugfix' if p.fixes else 'features'}/all/mip6kit-{names[p.path]}"

        files[pdir / "series.mip6kit"] = "".join(f"{where(p)}\n" for p in patches)
        files.update({pdir / where(p): dep3(p, base, str(p.path.relative_to(series_dir)), meta)
                      for p in patches})
    else:
        numbered = list(enumerate(patches, RPM_FIRST))
        files[out / "patches.spec"] = "".join(
            f"Patch{n}: {names[p.path]}\n" for n, p in numbered)
        files[out / "apply.spec"] = "".join(f"%patch -P {n} -p1\n" for n, _ in numbered)
        files.update({out / names[p.path]: p.path.read_text() for p in patches})
    return files
