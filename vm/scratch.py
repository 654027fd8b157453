# SPDX-License-Identifier: GPL-2.0-only
"""One scratch tree per variant, kept in sync without disturbing mtimes.

A variant ("baseline", "patched") owns work/<tree>/src-<variant>/: a copy of
the user's tree, plus the overlay, plus (for "patched") the series.  Its
build directories live inside it (src-<variant>/.mip6kit-build-<config>), so
kbuild uses the relative srctree ".." and the compiler command lines of both
variants are the same: ccache serves the first build of one variant from the
other's objects.

make decides what to rebuild from mtimes, so every file must carry an mtime
that is newer than its objects exactly when its content changed:
  * files that only come from the tree are copied by rsync, which keeps the
    tree's mtime; an unchanged file is never rewritten, so a second sync is
    a no-op;
  * "managed" files (what the series touches, the overlay, and any file
    whose mtime went backwards in the tree) are excluded from rsync.  Their
    wanted content is built in a staging directory (tree version, overlay,
    then the series) and written, as a new inode with the current time,
    only when it differs from what is there.
A sync that dies half way leaves a marker; the next one starts afresh.
"""

import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Exit, MipError
from .proc import Runner

log = logging.getLogger(__name__)

# In-tree build state that makes kbuild refuse an O= build; never copied.
_EXCLUDES = ["/.git", "/.config", "/include/config/", "/include/generated/",
             "/arch/*/include/generated/"]
STATE_PREFIX = ".mip6kit"  # src-<variant>/.mip6kit*: our state and build dirs
_STATE = f"{STATE_PREFIX}-state.json"
_PATCH_PATH = re.compile(r"^(?:---|\+\+\+) (?:[ab]/)?(\S+)|^(?:rename|copy) (?:from|to) (\S+)")


@dataclass
class SyncResult:
    changed: list[str] = field(default_factory=list)  # relative paths that got new content
    # Bumped by every sync that changed something (or started afresh): a
    # build stamped with the current generation has seen every change.
    generation: int = 0

    @property
    def kconfig_changed(self) -> bool:
        return any(Path(p).name.startswith("Kconfig") for p in self.changed)


def build_dir(src: Path, config_id: str) -> Path:
    """A build dir that is a direct child of src, so that srctree is '..'."""
    return src / f"{STATE_PREFIX}-build-{config_id}"


def touched_paths(patches: list[Path]) -> set[str]:
    """Every file a unified or git diff touches (-p1 paths)."""
    out: set[str] = set()
    for p in patches:
        for line in p.read_text(errors="replace").splitlines():
            m = _PATCH_PATH.match(line)
            if not m:
                continue
            path = m.group(1) or m.group(2)
            if path != "/dev/null" and not path.startswith("dev/null"):
                out.add(path)
    return out


def sync(origin: Path, src: Path, overlay: Path, patches: list[Path], runner: Runner,
         link_dest: Path | None = None, appends: dict[str, str] | None = None) -> SyncResult:
    """Make src the tree + overlay + patches, rewriting only what differs;
    appends are texts added at the end of files after the series (the
    coverage profile's Makefile lines)."""
    appends = appends or {}
    managed_now = touched_paths(patches) | _files_under(overlay) | set(appends)
    rsync = ["rsync", "-a", "--delete", "--itemize-changes",
             f"--exclude=/{STATE_PREFIX}*", *(f"--exclude={e}" for e in _EXCLUDES)]
    if runner.dry_run:
        runner.run(rsync + [f"{origin}/", f"{src}/"])
        for p in patches:
            runner.run(patch_argv(Path("STAGING"), p))
        return SyncResult()
    marker = src.with_name(src.name + ".sync-incomplete")
    if marker.exists():
        log.warning("the last sync of %s did not finish: copying it afresh", src)
        shutil.rmtree(src, ignore_errors=True)
    state = _load_state(src)
    managed = set(state.get("managed", [])) | managed_now
    pinned = set(state.get("pinned", []))
    src.mkdir(parents=True, exist_ok=True)
    marker.touch()
    with tempfile.NamedTemporaryFile("w", prefix="mip6kit-excl-", suffix=".txt") as excl:
        excl.write("".join(f"/{p}\n" for p in sorted(managed | pinned)))
        excl.flush()
        argv = rsync + [f"--exclude-from={excl.name}"]
        if link_dest is not None and link_dest.is_dir() and not state:
            argv.append(f"--link-dest={link_dest}")  # first copy: hard links, no data
        res = runner.run(argv + [f"{origin}/", f"{src}/"], capture=True, code=Exit.USAGE)
    result = SyncResult([ln.split(" ", 1)[1] for ln in res.stdout.splitlines()
                         if ln[:2] in (">f", "cf", "hf") and " " in ln])
    last = state.get("synced_at")
    if last is not None:
        # A file the tree changed since the last sync but dated before it
        # (cp -p, tar, a restored backup) would not be rebuilt: pin it.
        for rel in result.changed:
            f = src / rel
            if f.is_file() and f.stat().st_mtime <= last:
                log.info("%s changed but is dated before the last sync: rebuilding it", rel)
                pinned.add(rel)
                _write(f, f.read_bytes(), f.stat().st_mode)
    wanted = _stage(origin, overlay, patches, managed | pinned, appends)
    for rel in sorted(managed | pinned):
        if _converge(src / rel, wanted.get(rel)):
            result.changed.append(rel)
    # Saved before the marker goes: a build interrupted after this sync
    # still sees a generation it has not built.  A file stays managed once
    # it was: handing it back to rsync would date it back to the tree's
    # mtime and trip the pinning above.
    result.generation = state.get("generation", 0) + (1 if result.changed or not state else 0)
    _save_state(src, {"managed": sorted(managed), "pinned": sorted(pinned),
                      "synced_at": time.time(), "generation": result.generation})
    marker.unlink()
    log.info("synced %s: %d files changed", src.name, len(result.changed))
    log.debug("changed: %s", result.changed[:50])
    return result


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _stage(origin: Path, overlay: Path, patches: list[Path], paths: set[str],
           appends: dict[str, str]) -> dict[str, tuple[bytes, int] | None]:
    """The wanted content (data, mode) of paths, or None for absent."""
    with tempfile.TemporaryDirectory(prefix="mip6kit-stage-") as tmp:
        stage = Path(tmp)
        copy_sources(origin, overlay, paths, stage)
        for p in patches:
            apply_patch(stage, p, origin)
        for rel, text in appends.items():
            if (stage / rel).is_file():  # never create a file of its own
                with open(stage / rel, "a") as f:
                    f.write(text)
        out: dict[str, tuple[bytes, int] | None] = {}
        for rel in paths:
            f = stage / rel
            out[rel] = (f.read_bytes(), f.stat().st_mode) if f.is_file() else None
        return out


def copy_sources(origin: Path, overlay: Path, paths: set[str], dest: Path) -> None:
    """paths as the overlay has them, else as the tree has them, into dest
    (a path neither has stays absent)."""
    for rel in paths:
        for root in (overlay, origin):
            f = root / rel
            if f.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest / rel)
                break


def display_name(patch: Path) -> str:
    """The patch with its directory (ipsec/0001-x.patch): the trees of a
    base each number their patches from 0001."""
    return f"{patch.parent.name}/{patch.name}"


def patch_argv(stage: Path, patch: Path, reverse: bool = False,
               dry_run: bool = False) -> list[str]:
    """The patch(1) call that applies patch in stage (a dry run prints it);
    reverse and dry_run: whether it is already applied, changing nothing.
    -N --batch skips a patch that looks applied; -R -f never reverses it
    (--batch would take a reversed-looking patch as applied)."""
    how = ["-R", "-f"] if reverse else ["-N", "--batch"]
    return ["patch", "-p1", *how, "--no-backup-if-mismatch", "--reject-file=-",
            *(["--dry-run"] if dry_run else []), "-d", str(stage), "-i", str(patch)]


def apply_patch(stage: Path, patch: Path, origin: Path, announce: bool = True) -> None:
    """patch -p1 in stage; origin only names the tree in the error."""
    if announce:
        log.info("applying %s", display_name(patch))
    res = Runner().run(patch_argv(stage, patch), capture=True, check=False)
    if res.returncode != 0:
        raise MipError(f"{display_name(patch)} does not apply to {origin}:\n"
                       f"{res.stdout.strip()}\n{res.stderr.strip()}\n"
                       "rebase the series onto this tree, or choose another --series",
                       Exit.BUILD_FAILURE)


def _converge(f: Path, wanted: tuple[bytes, int] | None) -> bool:
    """Make f hold wanted; True if it had to change."""
    if wanted is None:
        if f.is_file() or f.is_symlink():
            f.unlink()
            return True
        return False
    data, mode = wanted
    try:
        if f.read_bytes() == data and f.stat().st_mode == mode:
            return False
    except OSError:
        pass
    f.parent.mkdir(parents=True, exist_ok=True)
    _write(f, data, mode)
    return True


def _write(f: Path, data: bytes, mode: int) -> None:
    """Replace f with a new inode (never write through a hard link)."""
    tmp = f.with_name(f".{f.name}.mip6kit-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode & 0o7777)
    tmp.replace(f)


def _load_state(src: Path) -> dict:
    try:
        return json.loads((src / _STATE).read_text())
    except (OSError, ValueError):
        return {}


def _save_state(src: Path, state: dict) -> None:
    tmp = src / f"{_STATE}.tmp"
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    tmp.replace(src / _STATE)
