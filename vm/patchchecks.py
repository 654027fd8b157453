# SPDX-License-Identifier: GPL-2.0-only
"""netdev's per-patch checks (NIPA's tests/patch/*), run locally on each
patch of a series: the static half of `mip6kit series check`.

For patch k, the tree before it (patches 1..k-1) and after it (1..k) are
compared, as NIPA compares a patch against its parent:

  build-x86_64  the objects the patch touches (its .c files; its headers
                through them), gcc W=1: the warnings that are new
  build-i386    the same, ARCH=i386 (a 32-bit build: u64 on 4 bytes)
  build-clang   the same, CC=clang
  sparse        the same objects, C=2 (endianness, __user, RCU annotations)
  kdoc          scripts/kernel-doc -none on the touched .c and .h files
  shellcheck    shellcheck -x on the touched .sh files
  checkpatch    scripts/checkpatch.pl --strict on the patch alone
  signedoff     the author has a Signed-off-by (NIPA's verify_signedoff)
  fixes         each Fixes: line is well formed and quotes the subject that
                vm/upstream-commits.txt records for its id (verify_fixes; a
                tree without git history cannot resolve the id itself)
  maintainers   every address scripts/get_maintainer.pl --no-git gives for
                the patch is in the To:/Cc: of its tree's cover letter (or of
                the patch, for a tree series of one patch)

A warning is compared without its line and column, so that lines the patch
moves do not count as new.  The object builds use their own scratch tree and
build dirs in the work dir (one per toolchain), configured from the lean
fragment plus NET_KEY (af_key.c is part of the series): the main builds are
not disturbed, and a second run reuses them.
"""

import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import build, resources, scratch, series
from .errors import Exit, MipError
from .job import Job

log = logging.getLogger(__name__)

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"  # NIPA's result words

# Warnings a Debian tree gives every patch: no git history to find a Fixes:
# commit in, and new selftest files under a directory MAINTAINERS covers.
BENIGN = (re.compile(r"Unknown commit id"),
          re.compile(r"added, moved or deleted file\(s\), does MAINTAINERS need updating"))
EXTRA_CONFIG = ("CONFIG_NET_KEY=y", "CONFIG_NET_KEY_MIGRATE=y")
UPSTREAM_COMMITS = Path(__file__).with_name("upstream-commits.txt")

# file:line[:col]: warning|error: text  (gcc, clang, sparse, kernel-doc, shellcheck -f gcc)
_DIAG = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:\d+:)? ?"
                   r"(?P<sev>warning|error|note): (?P<msg>.*)$")
_FIXES = re.compile(r"^Fixes:\s*(?P<id>\S+)\s*(?P<rest>.*)$", re.I | re.M)
_FIXES_OK = re.compile(r"^(?P<id>[0-9a-f]{12,40}) \(\"(?P<subject>.+)\"\)$")
_STABLE_UPSTREAM = re.compile(r"^commit [0-9a-f]{40} upstream\.$", re.M)
_ADDR = re.compile(r"<?([\w.+-]+@[\w.-]+)>?")


@dataclass(frozen=True)
class Toolchain:
    name: str
    make_vars: tuple[str, ...]
    cc: str  # the compiler ccache wraps


TOOLCHAINS = (Toolchain("x86_64", (), "gcc"), Toolchain("i386", ("ARCH=i386",), "gcc"),
              Toolchain("clang", (), "clang"))
CHECKS = ("build-x86_64", "build-i386", "build-clang", "sparse", "kdoc", "shellcheck",
          "checkpatch", "signedoff", "fixes", "maintainers")


@dataclass
class Check:
    name: str
    result: str  # PASS, WARN, FAIL or SKIP
    summary: str
    log: Path | None = None


@dataclass
class PatchChecks:
    index: int
    patch: Path
    checks: list[Check] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [f"{c.name} on patch {self.index} ({series.slug(self.patch)}): {c.summary}"
                for c in self.checks if c.result == FAIL]


# ---------------------------------------------------------------- parsing

def diagnostics(text: str, root: Path | None = None, cwd: Path | None = None) -> list[str]:
    """The warnings and errors of a tool's output, each as "file: sev: msg"
    (no line or column); file relative to root when cwd/file is under it."""
    out = []
    for line in text.splitlines():
        m = _DIAG.match(line.strip())
        if not m or m["sev"] == "note" and "[SC" not in m["msg"]:
            continue  # gcc's notes belong to the warning before; shellcheck's are its own
        name = m["file"]
        if root is not None and cwd is not None:
            full = Path(os.path.normpath(cwd / name))
            if full.is_relative_to(root):
                name = str(full.relative_to(root))
        out.append(f"{name}: {m['sev']}: {m['msg']}")
    return out


def new_warnings(before: list[str], after: list[str]) -> list[str]:
    """What after has more of than before (a multiset difference)."""
    return sorted((Counter(after) - Counter(before)).elements())


def objects(paths: set[str]) -> list[str]:
    """The kernel objects of a patch's touched files: its .c files outside
    tools/ and scripts/ (its headers are compiled through them)."""
    return sorted(p[:-2] + ".o" for p in paths
                  if p.endswith(".c") and not p.startswith(("tools/", "scripts/")))


_KBUILD_ASSIGN = re.compile(r"^[\w.-]+-(?:\$\(CONFIG_(\w+)\)|y|objs)\s*[:+]?=(.*)$", re.M)


def configured(src: Path, dotconfig: Path, obj: str) -> bool:
    """Whether the kbuild Makefile of obj's directory builds it with this
    .config (obj-$(CONFIG_X) += obj, or part of a composite's -y/-objs
    list).  Single-object builds compile any file, so this decides."""
    makefile = src / Path(obj).parent / "Makefile"
    try:
        text = makefile.read_text(errors="replace").replace("\\\n", " ")
        config = dotconfig.read_text(errors="replace")
    except OSError:
        return True  # let make say what is wrong
    for m in _KBUILD_ASSIGN.finditer(text):
        if Path(obj).name in m.group(2).split():
            if m.group(1) is None or re.search(rf"^CONFIG_{m.group(1)}=[ym]$", config, re.M):
                return True
    return False


def header_fields(patch_text: str) -> dict[str, str]:
    """The mail headers before the first blank line (continuations joined)."""
    fields: dict[str, str] = {}
    last = None
    for line in patch_text.splitlines():
        if not line.strip():
            break
        if line[:1] in " \t" and last:
            fields[last] += " " + line.strip()
        elif ":" in line and not line.startswith("From "):
            last, _, value = line.partition(":")
            fields[last] = value.strip()
    return fields


def message(patch_text: str) -> str:
    """The commit message: after the headers, up to the '---' line."""
    body = patch_text.split("\n\n", 1)[1] if "\n\n" in patch_text else ""
    return body.split("\n---\n", 1)[0]


def check_signedoff(patch_text: str) -> Check:
    author = header_fields(patch_text).get("From", "")
    m = _ADDR.search(author)
    if not m:
        return Check("signedoff", FAIL, "no From: header with an address")
    sobs = re.findall(r"^Signed-off-by:\s*(.+)$", message(patch_text), re.M)
    if any(m.group(1).lower() in s.lower() for s in sobs):
        return Check("signedoff", PASS, f"{len(sobs)} Signed-off-by, the author's among them")
    return Check("signedoff", FAIL, f"no Signed-off-by from the author {author}")


def known_commits(path: Path = UPSTREAM_COMMITS) -> dict[str, str]:
    """12-hex id -> upstream subject, from the table (comments after '#  ')."""
    try:
        text = path.read_text()
    except OSError as e:
        raise MipError(f"cannot read the table of upstream commits {path}: {e.strerror}; "
                       "it ships with mip6kit (reinstall it)", Exit.USAGE) from None
    table = {}
    for line in text.splitlines():
        line = re.split(r"\s{2,}#", line, maxsplit=1)[0].strip()
        if line and not line.startswith("#"):
            cid, _, subject = line.partition(" ")
            table[cid[:12].lower()] = subject.strip()
    return table


def check_fixes(patch_text: str, known: dict[str, str]) -> Check:
    """verify_fixes without git: the format of each Fixes: line (12+ hex
    digits, the subject in ("...")), and the subject against the table."""
    msg = re.sub(r"\n[ \t]+", " ", message(patch_text))  # a wrapped tag is one line
    tags = list(_FIXES.finditer(msg))
    if not tags:
        return Check("fixes", PASS, "no Fixes: tag")
    bad = []
    for t in tags:
        m = _FIXES_OK.match(f"{t['id']} {t['rest']}".strip())
        if not m:
            bad.append(f"malformed: Fixes: {t['id']} {t['rest']}")
        elif (want := known.get(m["id"][:12])) is None:
            bad.append(f"{m['id'][:12]} is not in {UPSTREAM_COMMITS.name}: add it with its source")
        elif want != m["subject"]:
            bad.append(f"{m['id'][:12]} is upstream \"{want}\", not \"{m['subject']}\"")
    if bad:
        return Check("fixes", FAIL, "; ".join(bad))
    return Check("fixes", PASS, f"{len(tags)} Fixes: tag(s), subjects as upstream")


def recipients(patch_text: str) -> set[str]:
    fields = header_fields(patch_text)
    return {a.lower() for k in ("To", "Cc") for a in _ADDR.findall(fields.get(k, ""))}


def checkpatch_verdict(output: str) -> tuple[str, str]:
    """(result, summary) of checkpatch --strict's output.  Benign: the
    BENIGN warnings, and the commit-style error on a stable backport's
    "commit <40 hex> upstream." line (the form stable-kernel-rules.rst
    asks for, which checkpatch does not know)."""
    total = re.search(r"total: (\d+) errors, (\d+) warnings, (\d+) checks", output)
    if not total:
        return FAIL, f"checkpatch did not run: {output.strip()[-200:]}"
    errors, warnings, checks = map(int, total.groups())
    blocks = re.split(r"\n\s*\n", output)
    msgs = re.findall(r"^WARNING: (.*)$", output, re.M)
    benign = sum(any(b.search(m) for b in BENIGN) for m in msgs)
    stable = sum(1 for b in blocks if b.startswith("ERROR: Please use git commit description")
                 and _STABLE_UPSTREAM.search(b))
    ok = errors == stable and checks == 0 and warnings == benign
    note = f", {benign + stable} benign" if benign + stable else ""
    return (PASS if ok else FAIL), f"{errors} errors, {warnings} warnings{note}, {checks} checks"


# ---------------------------------------------------------------- tools

class Tree:
    """The static scratch tree, moved between patch states, and its
    per-toolchain build dirs; results are memoised per (state, check, file)."""

    def __init__(self, job: Job, logdir: Path):
        self.job, self.runner, self.logdir = job, job.runner, logdir
        self.src = job.workdir / "src-static"
        self.state = -1
        self.memo: dict[tuple, list[str]] = {}
        self._kdoc: Callable[[str], list[str]] | None = None
        self.env, ccache_vars = build.make_env(job.cache, job.workdir)
        self.ccache = any(v.startswith("CC=ccache") for v in ccache_vars)

    def kdoc_argv(self) -> Callable[[str], list[str]]:
        """scripts/kernel-doc -none, with -Wall where this tree's kernel-doc
        takes it (NIPA runs it so; 6.1's says "Argument unknown!"); probed
        once per tree."""
        if self._kdoc is None:
            script = str(self.src / "scripts/kernel-doc")
            probe = self.runner.run(["perl", script, "-Wall", "-none",
                                     str(self.src / "include/linux/kernel.h")],
                                    capture=True, check=False)
            strict = ["-Wall"] if probe.returncode == 0 else []
            self._kdoc = lambda f: ["perl", script, *strict, "-none", str(self.src / f)]
        return self._kdoc

    def goto(self, state: int) -> None:
        if state != self.state:
            scratch.sync(self.job.tree.origin, self.src, resources.overlay(),
                         self.job.patches[:state], self.runner)
            self.state = state

    def _make(self, tc: Toolchain) -> list[str]:
        cc = f"ccache {tc.cc}" if self.ccache else tc.cc
        return ["make", "-C", str(self.src), f"O={self.builddir(tc)}", f"CC={cc}",
                *tc.make_vars]

    def builddir(self, tc: Toolchain) -> Path:
        return scratch.build_dir(self.src, f"static-{tc.name}")

    def configure(self, tc: Toolchain) -> None:
        """allnoconfig + the lean fragment + EXTRA_CONFIG, once per build dir."""
        bdir = self.builddir(tc)
        frag = bdir.with_name(bdir.name + ".fragment")
        lean = (self.src / "tools/testing/selftests/net/mip6/config").read_text()
        text = lean + "".join(f"{line}\n" for line in EXTRA_CONFIG)
        if (bdir / ".config").is_file() and frag.is_file() and frag.read_text() == text:
            return
        bdir.mkdir(parents=True, exist_ok=True)
        frag.write_text(text)
        logfile = self.logdir / f"configure-{tc.name}.log"
        for target in ([f"KCONFIG_ALLCONFIG={frag}", "allnoconfig"], ["olddefconfig"]):
            rc = build._stream_make(self._make(tc) + target, self.src, self.env, logfile,
                                    f"config {tc.name}", self.runner)
            if rc != 0:
                raise MipError(f"configuring the {tc.name} build dir failed; see {logfile}",
                               Exit.BUILD_FAILURE)

    def compile(self, tc: Toolchain, objs: list[str], sparse: bool = False) -> dict[str, list]:
        """obj -> its diagnostics at this state (memoised).  An object the
        config does not build maps to None."""
        out: dict = {}
        for obj in objs:
            key = (self.state, tc.name, sparse, obj)
            if key not in self.memo:
                self.configure(tc)
                if not configured(self.src, self.builddir(tc) / ".config", obj):
                    self.memo[key] = None
                    out[obj] = None
                    continue
                flags = ["C=2"] if sparse else ["W=1"]
                res = self.runner.run(self._make(tc) + [*flags, f"-j{self.job.jobs}", obj],
                                      cwd=self.src, env=self.env, capture=True, check=False)
                text = res.stdout + res.stderr
                if res.returncode != 0 and not diagnostics(text):
                    raise MipError(f"make {obj} ({tc.name}) failed without a diagnostic:\n"
                                   f"{text[-1500:]}", Exit.BUILD_FAILURE)
                else:
                    self.memo[key] = diagnostics(text, self.src, self.builddir(tc))
            out[obj] = self.memo[key]
        return out

    def tool(self, name: str, argv_for: Callable[[str], list[str]],
             files: list[str]) -> dict[str, list[str] | None]:
        """file -> diagnostics of a per-file tool at this state (None: absent)."""
        out: dict = {}
        for f in files:
            key = (self.state, name, f)
            if key not in self.memo:
                path = self.src / f
                if not path.is_file():
                    self.memo[key] = None
                else:
                    res = self.runner.run(argv_for(f), cwd=path.parent, capture=True,
                                          check=False)
                    text = res.stdout + res.stderr
                    found = diagnostics(text, self.src, path.parent)
                    if res.returncode != 0 and not found:  # it did not check: say so
                        raise MipError(f"{name} failed on {f} without a diagnostic "
                                       f"(exit {res.returncode}):\n{text.strip()[-800:]}",
                                       Exit.BUILD_FAILURE)
                    self.memo[key] = found
            out[f] = self.memo[key]
        return out


def _compare(name: str, before: dict, after: dict, logfile: Path, what: str) -> Check:
    """A check row from per-file diagnostics before and after a patch."""
    if not after:
        return Check(name, SKIP, f"no {what} in this patch")
    built = [f for f, d in after.items() if d is not None]
    if not built:
        return Check(name, SKIP, f"{', '.join(after)}: not in this configuration")
    new, lines = [], []
    for f in built:
        fresh = new_warnings(before.get(f) or [], after[f])
        new += fresh
        lines += [f"== {f}: {len(after[f])} now, {len(before.get(f) or [])} before"]
        lines += [f"NEW {w}" for w in fresh] + [f"    {w}" for w in after[f] if w not in fresh]
    unbuilt = sorted(set(after) - set(built))
    if unbuilt:
        lines.append(f"not in this configuration: {', '.join(unbuilt)}")
    logfile.write_text("\n".join(lines) + "\n")
    errors = [w for w in new if ": error: " in w]
    where = f" ({len(built)} of {len(after)} built)" if unbuilt else ""
    if errors:
        return Check(name, FAIL, f"{len(errors)} new errors{where}: {errors[0]}", logfile)
    if new:
        return Check(name, FAIL, f"{len(new)} new warnings{where}: {new[0]}", logfile)
    total = sum(len(after[f]) for f in built)
    return Check(name, PASS, f"0 new{where}" + (f" ({total} old)" if total else ""), logfile)


def _shellcheck_argv(f: str) -> list[str]:
    return ["shellcheck", "-x", "-f", "gcc", Path(f).name]  # run in the script's dir


def check_patch(tree: Tree, k: int, cover: str | None, known: dict[str, str],
                only: tuple[str, ...] = CHECKS) -> PatchChecks:
    """The checks named in only (all of CHECKS by default) on patch k
    (1-based) of tree.job.patches."""
    job, runner = tree.job, tree.runner
    patch = job.patches[k - 1]
    text = patch.read_text(errors="replace")
    logdir = tree.logdir / f"patch-{k}"
    logdir.mkdir(parents=True, exist_ok=True)
    paths = scratch.touched_paths([patch])
    objs = objects(paths)
    docs = sorted(p for p in paths if p.endswith((".c", ".h")) and not p.startswith("tools/"))
    shells = sorted(p for p in paths if p.endswith(".sh"))
    have_sc = shutil.which("shellcheck") is not None
    missing = {name: tool for name, tool in [*((f"build-{tc.name}", tc.cc) for tc in TOOLCHAINS),
                                             ("sparse", "sparse")]
               if name in only and shutil.which(tool) is None}
    only = tuple(n for n in only if n not in missing)
    toolchains = [tc for tc in TOOLCHAINS if f"build-{tc.name}" in only]
    log.info("patch checks %s: patch %d of %d %s", job.tree.label, k, len(job.patches),
             series.slug(patch))

    def state(s: int) -> dict[str, dict]:
        tree.goto(s)
        out = {f"build-{tc.name}": tree.compile(tc, objs) for tc in toolchains}
        if "sparse" in only:
            out["sparse"] = tree.compile(TOOLCHAINS[0], objs, sparse=True)
        if "kdoc" in only and docs:
            out["kdoc"] = tree.tool("kdoc", tree.kdoc_argv(), docs)
        if "shellcheck" in only and have_sc:
            out["shellcheck"] = tree.tool("shellcheck", _shellcheck_argv, shells)
        return out

    before, after = state(k - 1), state(k)
    what = {"kdoc": ".c or .h file", "shellcheck": "shell script"}
    checks = [_compare(name, before[name], after[name], logdir / f"{name}.txt",
                       what.get(name, "object")) for name in after]
    checks += [Check(name, FAIL, f"{tool} is not installed: run scripts/setup.sh --extra")
               for name, tool in missing.items()]
    if "kdoc" in only and not docs:
        checks.append(Check("kdoc", SKIP, "no .c or .h file in this patch"))
    if "shellcheck" in only and not have_sc:
        checks.append(Check("shellcheck", FAIL if shells else SKIP,
                            "shellcheck is not installed: run scripts/setup.sh"))
    if "checkpatch" in only:
        res = runner.run(["perl", "scripts/checkpatch.pl", "--strict", "--no-color",
                          str(patch)], cwd=tree.src, capture=True, check=False)
        (logdir / "checkpatch.txt").write_text(res.stdout + res.stderr)
        checks.append(Check("checkpatch", *checkpatch_verdict(res.stdout + res.stderr),
                            logdir / "checkpatch.txt"))
    if "signedoff" in only:
        checks.append(check_signedoff(text))
    if "fixes" in only:
        checks.append(check_fixes(text, known))
    if "maintainers" in only:
        checks.append(check_maintainers(tree, patch, cover or text,
                                        logdir / "maintainers.txt"))
    order = {name: i for i, name in enumerate(CHECKS)}
    return PatchChecks(k, patch, sorted(checks, key=lambda c: order[c.name]))


def maintainers(tree: Tree, patches: list[Path]) -> list[str]:
    """scripts/get_maintainer.pl --no-git's recipients of patches, as
    "Name <addr>" or a bare list address, in its order."""
    res = tree.runner.run(["perl", "scripts/get_maintainer.pl", "--no-git", "--no-rolestats",
                           "--no-tree", *map(str, patches)], cwd=tree.src, capture=True,
                          check=False)
    if res.returncode != 0:
        names = ", ".join(p.name for p in patches)
        raise MipError(f"get_maintainer.pl failed on {names}: {res.stderr.strip()[-300:]}",
                       Exit.BUILD_FAILURE)
    return [line.strip() for line in res.stdout.splitlines() if _ADDR.search(line)]


def split_recipients(names: list[str]) -> tuple[list[str], list[str]]:
    """(To, Cc): the mailing lists (bare addresses) are To, the people Cc."""
    return [n for n in names if "<" not in n], [n for n in names if "<" in n]


def with_recipients(mail: str, to: list[str], cc: list[str]) -> str:
    """mail with its To:/Cc: headers replaced (after the last header)."""
    head, sep, body = mail.partition("\n\n")
    lines, skip = [], False
    for line in head.splitlines():
        if line[:1] in " \t" and skip:
            continue
        skip = line.split(":", 1)[0] in ("To", "Cc")
        if not skip:
            lines.append(line)
    for header, names in (("To", to), ("Cc", cc)):
        if names:
            lines.append(f"{header}: " + ",\n    ".join(names))
    return "\n".join(lines) + sep + body


def check_maintainers(tree: Tree, patch: Path, mail: str, logfile: Path) -> Check:
    wanted = [a.lower() for n in maintainers(tree, [patch]) for a in _ADDR.findall(n)]
    have = recipients(mail)
    missing = [a for a in wanted if a not in have]
    logfile.write_text("".join(f"{'ok ' if a in have else 'MISSING '}{a}\n" for a in wanted))
    if missing:
        return Check("maintainers", FAIL, f"{len(missing)} of {len(wanted)} not in To:/Cc: "
                     f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}", logfile)
    return Check("maintainers", PASS, f"all {len(wanted)} in To:/Cc:", logfile)


COVER = "0000-cover-letter.patch"


def cover_letters(job: Job) -> dict[str, str]:
    """tree dir name (ipsec, net, ...) -> its cover letter's text."""
    return {p.parent.name: p.read_text(errors="replace")
            for p in sorted(job.series_dir.glob(f"*/{COVER}"))}


def set_recipients(job: Job, write: bool) -> list[tuple[Path, list[str], list[str]]]:
    """Per tree series: (the mail that carries its recipients, To, Cc).  That
    mail is the cover letter, or the patch of a one-patch series; with write,
    its To:/Cc: headers are rewritten."""
    tree = Tree(job, job.rundir)
    tree.goto(0)
    by_tree: dict[str, list[Path]] = {}
    for p in job.patches:
        by_tree.setdefault(p.parent.name, []).append(p)
    out = []
    for name, patches in by_tree.items():
        cover = job.series_dir / name / COVER
        mail = cover if cover.is_file() else patches[0]
        if not cover.is_file() and len(patches) > 1:
            raise MipError(f"{job.series_dir / name} has {len(patches)} patches and no "
                           f"{COVER}: its recipients go there", Exit.USAGE)
        to, cc = split_recipients(maintainers(tree, patches))
        if write:
            text = mail.read_text()
            new = with_recipients(text, to, cc)
            if new != text:
                mail.write_text(new)
        out.append((mail, to, cc))
    return out


def run(job: Job, logdir: Path, only: tuple[str, ...] = CHECKS) -> list[PatchChecks]:
    """Every patch's checks (only those named in only), in series order."""
    known = known_commits() if "fixes" in only else {}
    covers = cover_letters(job)
    tree = Tree(job, logdir)
    out = []
    for k in range(1, len(job.patches) + 1):
        out.append(check_patch(tree, k, covers.get(job.patches[k - 1].parent.name), known,
                               only))
    return out
