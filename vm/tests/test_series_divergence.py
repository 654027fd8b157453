# SPDX-License-Identifier: GPL-2.0-only
"""The 6.12 and the 6.1 series may differ only where EXPLAINED below says why.

Both bases are meant to carry the same commits (README, "Patches"), each cherry-picked
onto its own tree.  This test compares them as `git range-diff` would, minus what a
cherry-pick always changes, and fails on every divergence that EXPLAINED does not explain,
and on every entry of EXPLAINED that no longer matches a divergence (a stale explanation).

Method:

- The patches are those that patches/<base>/series lists (comments skipped), read as the
  `git format-patch` mails they are.  The cover letters are not in the series and are not
  compared: each describes its own posting (base, test count, range-diff).
- A patch of one base is paired with the patch of the other base that has the same subject
  (the Subject: line without its `[PATCH tree vN n/N]` prefix), since numbers differ
  between the bases (6.12's ipsec carries two more fixes).  A subject found on one base
  only is a divergence of part "only on <base>"; a paired patch in another tree, or a
  pair in another order than on the other base, is one of part "tree" or "order".
- Each pair is compared in parts, and a part that differs is one divergence:
  - "author": the From: header.  The Date: and the commit id are not compared.
  - "message": the commit message from after the headers up to its last paragraph.
  - "trailers": the last paragraph of the commit message (Fixes:, Cc:, Reported-by:,
    Signed-off-by: and a backporter's `[ ... ]` note between them), compared whole.
  - "notes": the `Notes:` below `---`, after replacing `linux-source-<base>` and
    `<base>.y` by a placeholder: every patch names the base it applies to.  The diffstat
    is not compared, since it follows from the diff.
  - "files": the set of files the diff touches.
  - each file's diff, as one sequence: its mode lines (new file mode ...) and its `+` and
    `-` lines in order, across its hunks.  Dropped: the `index` line (blob ids differ
    between the trees), the `---`/`+++` lines (the path is the key) and each hunk header
    `@@ -a,b +c,d @@ text` whole: its numbers are the offsets, and its text is git's
    guess at the enclosing function (the last line above the hunk that starts with a
    letter), which moves with the surrounding code and with how the hunks split: the 6.1
    Makefile hunk is headed `TEST_GEN_PROGS += ...`, the 6.12 one `TEST_PROGS += ...`;
    route.c's function is `static` on 6.12 only; xfrm.h's two hunks are one on 6.1.
    Context lines (` `) are dropped too.  They are what each base's tree has around the
    change, and they differ wherever upstream code next to the change differs (a
    READ_ONCE() on 6.12, another neighbour in a .gitignore), which is not a divergence of
    the change.  Where a change lands in each tree is checked there: the series is applied
    (`patch -p1`, with GNU patch's default fuzz) and built, and the verifier runs, on each
    base.  The price: a divergence in the context alone (the same lines added at another
    place of the same file) is invisible here, and so is a line moved from one hunk to
    another of the same file with the order of the `+`/`-` lines kept.
- A divergence is keyed by (subject, part) and pinned by a digest: the first 12 hex
  digits of the SHA-256 of its differing lines (each `<base> | <line>`, the groups
  separated by `...`, without positions, so an added line common to both bases elsewhere
  in the file does not change it).  An explained divergence that changes is reported as
  unexplained again, with its new digest: the explanation was for the old lines.

When the test fails, read the lines it prints (and the two patches), then either make the
series alike again or add the (subject, part) with the printed digest and a one-sentence
reason to EXPLAINED.  Keep the reasons about the bases' code, not about the series.
"""

import difflib
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mip6kit import resources
from mip6kit.tree import DEBIAN_BASES

PATCHES = resources.patches()
BASES = tuple(DEBIAN_BASES)

# (subject, part) -> (digest, why).  Every current divergence between the two series.
EXPLAINED: dict[tuple[str, str], tuple[str, str]] = {
    ("xfrm: policy: decode the mobility header type on input", "only on 6.12"): (
        "2ba7eaadc18c",
        "6.1 predates the flow-dissector decode of 6.7 (7a0207094f1b): its decode_session6() "
        "reads the MH type by hand, so it has no regression to fix."),
    ("xfrm: migrate: find policies that select an MH or ICMP type or a GRE key",
     "only on 6.12"): (
        "2ba7eaadc18c",
        "6.1 predates 563d5ca93e88 (6.12): its xfrm_migrate_policy_find() compares the "
        "selector itself, so type and key selectors are found."),
    ("xfrm/compat: start each translated attribute on a 4-byte boundary", "message"): (
        "9ef651f8dfc6",
        "6.1 has no XFRMA_SA_DIR (6.10), so the u8 attribute that misaligns the ones after it "
        "is a bullet on 6.12 and a parenthesis about 6.10 on 6.1."),
    ("xfrm: make state as DEAD before final put when migrate fails", "trailers"): (
        "3bc7436d0add",
        "the backport note quotes the WARN_ON of each tree's __xfrm_state_destroy(), line "
        "742 of 6.12's xfrm_state.c and line 677 of 6.1's."),
    ("xfrm: migrate: take the mark of the policy and states to move", "message"): (
        "e1dbea036d95",
        "6.1's MIGRATE compares the selector alone (may move the wrong marked policy) where "
        "6.12's flow lookup never finds a marked one, and each message leads with its own."),
    ("xfrm: migrate: take the mark of the policy and states to move", "include/net/xfrm.h"): (
        "8f4ed4bc2d8f",
        "6.1's xfrm_migrate() has no extack parameter, so the mark is its last parameter "
        "there and comes before extack on 6.12."),
    ("xfrm: migrate: take the mark of the policy and states to move", "net/key/af_key.c"): (
        "b1265e6c872b",
        "6.1's xfrm_migrate() has no extack parameter, so af_key passes one NULL (the mark) "
        "where 6.12 passes two (the mark and extack)."),
    ("xfrm: migrate: take the mark of the policy and states to move",
     "net/xfrm/xfrm_policy.c"): (
        "576f78d7c031",
        "6.1's xfrm_migrate_policy_find() walks the bydst chain and the inexact list with "
        "xfrm_migrate_selector_match(), so the mark test joins both loops' conditions, where "
        "6.12 puts the mark in the lookup flow and checks the policy found; 6.1's stage 1 "
        "has no extack or IS_ERR."),
    ("xfrm: migrate: take the mark of the policy and states to move",
     "net/xfrm/xfrm_user.c"): (
        "6f6accc5c885",
        "6.1's xfrm_do_migrate() calls xfrm_migrate() on one line without extack, so the "
        "patch rewraps that line to add the mark."),
    ("xfrm: add a home address to route optimization states", "message"): (
        "4b2d4a6bae1b",
        "6.1 has no XFRMA_SA_DIR (6.10), so only 6.12 requires an output SA."),
    ("xfrm: add a home address to route optimization states", "include/uapi/linux/xfrm.h"): (
        "5f7a05ce51f0",
        "6.1's last attribute is XFRMA_MTIMER_THRESH (32), so XFRMA_HOADDR = 42 leaves 33 to "
        "41 unused there, 36 to 41 (IPTFS) on 6.12."),
    ("xfrm: add a home address to route optimization states", "net/xfrm/xfrm_compat.c"): (
        "e6b596090502",
        "the BUILD_BUG_ONs name each tree's last attribute before XFRMA_HOADDR: "
        "XFRMA_SA_PCPU on 6.12, XFRMA_MTIMER_THRESH on 6.1."),
    ("xfrm: add a home address to route optimization states", "net/xfrm/xfrm_user.c"): (
        "711b74062e14",
        "6.1 has neither XFRMA_SA_DIR nor xfrm_reject_unused_attr() (both 6.10), so "
        "verify_hoaddr() takes no sa_dir and has no output-SA check, and no hunk refuses "
        "HOADDR on messages other than NEWSA and UPDSA."),
    ("selftests: net: add a Mobile IPv6 home address option test",
     "tools/testing/selftests/net/Makefile"): (
        "3f6d55c8d03f",
        "6.1's Makefile has no TEST_GEN_FILES line after TEST_FILES (6.12's *.bpf.c one), so "
        "the helper's line follows `TEST_GEN_FILES += nat6to4.o`, before the TEST_PROGS line."),
}


@dataclass
class Patch:
    """One format-patch mail, split into the parts that are compared."""

    name: str  # as the series file names it: tree/NNNN-name.patch
    subject: str
    author: str
    message: list[str]
    trailers: list[str]
    notes: list[str]
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tree(self) -> str:
        return self.name.split("/")[0]


@dataclass
class Divergence:
    subject: str
    part: str
    names: dict[str, str]  # base -> patch name; one entry for a patch of one base
    lines: list[str]

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.lines).encode()).hexdigest()[:12]

    def describe(self, limit: int = 40) -> str:
        where = ", ".join(f"{base} {name}" for base, name in self.names.items())
        shown = self.lines[:limit]
        if len(self.lines) > limit:
            shown.append(f"... ({len(self.lines) - limit} more lines)")
        body = "\n".join(f"    {line}" for line in shown)
        return (f"{self.subject!r} ({where}): {self.part}: digest {self.digest}; "
                f"first differing lines:\n{body}")


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_PREFIX = re.compile(r"^\[PATCH[^\]]*\]\s*")


def series(patches: Path, base: str) -> list[str]:
    lines = (patches / base / "series").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _headers(lines: list[str]) -> tuple[dict[str, str], int]:
    """The mail headers, unfolded, and the index of the line after them."""
    headers: dict[str, str] = {}
    last = None
    i = 1 if lines and lines[0].startswith("From ") else 0  # mbox separator
    while i < len(lines) and lines[i]:
        if lines[i][0] in " \t" and last:
            headers[last] += " " + lines[i].strip()
        else:
            last, _, value = lines[i].partition(":")
            headers[last] = value.strip()
        i += 1
    return headers, i + 1


def _diff(lines: list[str], path: Path) -> dict[str, list[str]]:
    """Each file's mode lines and +/- lines, read hunk by hunk by the header's counts."""
    files: dict[str, list[str]] = {}
    cur: list[str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            cur = files.setdefault(line.rsplit(" b/", 1)[1], [])
        elif cur is None or line.startswith(("index ", "--- ", "+++ ")):
            continue
        elif m := _HUNK.match(line):
            old = int(m.group(1) or 1)
            new = int(m.group(2) or 1)
            while old or new:
                if i >= len(lines):
                    raise ValueError(f"{path}: a hunk ends early: {line}")
                body = lines[i]
                i += 1
                if body.startswith("\\"):  # \ No newline at end of file
                    cur.append(body)
                    continue
                kind = body[:1] or " "  # an empty context line has lost its space
                if kind in " -":
                    old -= 1
                if kind in " +":
                    new -= 1
                if kind in "+-":
                    cur.append(body)
                elif kind != " ":
                    raise ValueError(f"{path}: not a hunk line: {body!r}")
        elif line == "-- ":  # the signature after the last diff
            cur = None
        elif line.startswith(("new file mode", "deleted file mode", "old mode", "new mode",
                              "rename ", "copy ", "similarity", "Binary files")):
            cur.append(line)
    return files


def parse(path: Path, name: str) -> Patch:
    lines = path.read_text().splitlines()
    headers, start = _headers(lines)
    if "Subject" not in headers or "From" not in headers:
        raise ValueError(f"{path}: not a format-patch mail")
    end = lines.index("---", start)
    message = lines[start:end]
    while message and not message[-1].strip():
        message.pop()
    cut = max((k for k, line in enumerate(message) if not line.strip()), default=-1)
    trailers = message[cut + 1:]
    message = message[:cut]
    notes: list[str] = []
    k = end + 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k < len(lines) and lines[k] == "Notes:":
        k += 1
        while k < len(lines) and lines[k].startswith("    "):
            notes.append(lines[k].rstrip())
            k += 1
    first_diff = next((j for j in range(end, len(lines)) if lines[j].startswith("diff --git ")),
                      len(lines))
    return Patch(name=name, subject=_PREFIX.sub("", headers["Subject"]), author=headers["From"],
                 message=message, trailers=trailers, notes=notes,
                 files=_diff(lines[first_diff:], path))


def _neutral(lines: list[str], base: str) -> list[str]:
    """Notes with the name of their own base replaced."""
    b = re.escape(base)
    return [re.sub(rf"linux-source-{b}\b|\b{b}\.y\b",
                   lambda m: m.group(0).replace(base, "<base>"), line) for line in lines]


def _differing(a: list[str], b: list[str], base_a: str, base_b: str) -> list[str]:
    """The lines in which two sequences differ, each prefixed by its base."""
    out: list[str] = []
    width = max(len(base_a), len(base_b))
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if out:
            out.append("...")
        out += [f"{base_a:<{width}} | {line}" for line in a[a1:a2]]
        out += [f"{base_b:<{width}} | {line}" for line in b[b1:b2]]
    return out


def divergences(patches: Path = PATCHES, bases: tuple[str, str] = BASES) -> list[Divergence]:
    """Every divergence between the series of two bases under `patches`."""
    by_subject: list[dict[str, Patch]] = []
    for base in bases:
        found: dict[str, Patch] = {}
        for name in series(patches, base):
            patch = parse(patches / base / name, name)
            if patch.subject in found:
                raise ValueError(f"{base}: two patches have the subject {patch.subject!r}: "
                                 f"{found[patch.subject].name} and {name}")
            found[patch.subject] = patch
        by_subject.append(found)
    (base_a, base_b), (one, two) = bases, by_subject
    out: list[Divergence] = []
    for base, mine, other in ((base_a, one, two), (base_b, two, one)):
        for subject, patch in mine.items():
            if subject not in other:
                out.append(Divergence(subject, f"only on {base}", {base: patch.name},
                                      [f"only on {base}"]))
    common_a = [s for s in one if s in two]
    common_b = [s for s in two if s in one]
    for k, (sa, sb) in enumerate(zip(common_a, common_b, strict=True)):
        if sa != sb:
            out.append(Divergence(sa, "order", {base_a: one[sa].name, base_b: two[sb].name},
                                  _differing(common_a[k:], common_b[k:], base_a, base_b)))
            break
    for subject in common_a:
        a, b = one[subject], two[subject]
        names = {base_a: a.name, base_b: b.name}
        parts: list[tuple[str, list[str], list[str]]] = [
            ("tree", [a.tree], [b.tree]),
            ("author", [a.author], [b.author]),
            ("message", a.message, b.message),
            ("trailers", a.trailers, b.trailers),
            ("notes", _neutral(a.notes, base_a), _neutral(b.notes, base_b)),
            ("files", sorted(a.files), sorted(b.files)),
        ]
        parts += [(f, a.files[f], b.files[f]) for f in a.files if f in b.files]
        for part, la, lb in parts:
            if la != lb:
                out.append(Divergence(subject, part, names, _differing(la, lb, base_a, base_b)))
    return out


def problems(found: list[Divergence],
             explained: dict[tuple[str, str], tuple[str, str]] = EXPLAINED) -> list[str]:
    """One text per unexplained divergence and per stale explanation."""
    out: list[str] = []
    keys = set()
    for d in found:
        key = (d.subject, d.part)
        keys.add(key)
        digest = explained.get(key, (None, ""))[0]
        if digest == d.digest:
            continue
        if digest is None:
            head = "unexplained divergence"
        else:
            head = f"divergence changed since it was explained (digest {digest})"
        out.append(f"{head}: {d.describe()}\n  explain it in EXPLAINED as "
                   f"({d.subject!r}, {d.part!r}): ({d.digest!r}, \"<why>\")")
    for key in explained:
        if key not in keys:
            out.append(f"stale explanation: {key[0]!r}: {key[1]}: the bases no longer "
                       "diverge there; remove it from EXPLAINED")
    return out


def test_every_divergence_between_the_bases_is_explained():
    found = divergences()
    assert found, "no divergence at all: the parser read nothing"
    report = problems(found)
    assert not report, "\n\n".join(report)


# The same comparison on a copy of the series with one change, to show that each kind of
# change on one base is reported, and that offsets and context are not.

UDP = "net-next/0002-ipv6-udp-use-the-home-address-for-the-checksum.patch"
UDP_SUBJECT = "ipv6: udp: use the home address for the checksum when a HAO is sent"
HOADDR = "ipsec-next/0002-xfrm-add-a-home-address-to-route-optimization-states.patch"
HOADDR_SUBJECT = "xfrm: add a home address to route optimization states"


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "patches"
    shutil.copytree(PATCHES, copy, ignore=shutil.ignore_patterns("*.orig", "*.rej"))
    return copy


def _change_added_line(patch: Path, path: str) -> str:
    """Append a comment to the first `+` line of `path`'s diff in `patch`; returns it."""
    lines = patch.read_text().splitlines(keepends=True)
    start = lines.index(f"diff --git a/{path} b/{path}\n")
    k = next(k for k in range(start, len(lines))
             if lines[k].startswith("+") and not lines[k].startswith("+++")
             and lines[k].strip() != "+")
    lines[k] = lines[k].rstrip("\n") + " /* 6.1 only */\n"
    patch.write_text("".join(lines))
    return lines[k].rstrip("\n")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} is not there exactly once"
    path.write_text(text.replace(old, new))


def test_the_copy_diverges_as_the_series_does(tmp_path):
    """The series copied as they are: the same divergences, all explained."""
    copy = _copy(tmp_path)
    assert ([(d.subject, d.part, d.digest) for d in divergences(copy)]
            == [(d.subject, d.part, d.digest) for d in divergences()])
    assert problems(divergences(copy)) == []


def test_an_added_line_changed_on_one_base_is_reported(tmp_path):
    copy = _copy(tmp_path)
    line = _change_added_line(copy / "6.1" / UDP, "net/ipv6/udp.c")
    report = problems(divergences(copy))
    assert len(report) == 1, "\n\n".join(report)
    text = report[0]
    assert text.startswith("unexplained divergence: ")
    assert UDP_SUBJECT in text and f"6.1 {UDP}" in text and ": net/ipv6/udp.c: " in text
    first = text.split("first differing lines:\n")[1].splitlines()
    assert first[0].startswith("    6.12 | +") and first[1] == f"    6.1  | {line}"
    assert first[0].removeprefix("    6.12 | ") + " /* 6.1 only */" == line


def test_a_change_to_an_explained_divergence_is_reported_again(tmp_path):
    """xfrm_user.c of the HOADDR patch diverges already: the digest catches one more line."""
    copy = _copy(tmp_path)
    line = _change_added_line(copy / "6.1" / HOADDR, "net/xfrm/xfrm_user.c")
    report = problems(divergences(copy))
    assert len(report) == 1, "\n\n".join(report)
    assert report[0].startswith("divergence changed since it was explained (digest "
                                f"{EXPLAINED[HOADDR_SUBJECT, 'net/xfrm/xfrm_user.c'][0]})")
    assert ": net/xfrm/xfrm_user.c: " in report[0] and f"6.1  | {line}" in report[0]


def test_a_divergence_that_is_gone_leaves_a_stale_explanation(tmp_path):
    copy = _copy(tmp_path)
    _replace(copy / "6.1" / HOADDR, "+\t/* 33 to 41 are used by mainline and not",
             "+\t/* 36 to 41 are used by mainline (IPTFS) and not")
    assert problems(divergences(copy)) == [
        f"stale explanation: {HOADDR_SUBJECT!r}: include/uapi/linux/xfrm.h: the bases no "
        "longer diverge there; remove it from EXPLAINED"]


def test_commit_messages_trailers_and_series_are_compared(tmp_path):
    copy = _copy(tmp_path)
    _replace(copy / "6.1" / UDP, "\nSigned-off-by: ",
             "\nCc: stable@vger.kernel.org\nSigned-off-by: ")
    _replace(copy / "6.1" / UDP, "\nPass the home address ", "\nHand the home address ")
    oif = "net-next/0003-ipv6-make-the-oif-strict-for-packets-with-a-home-address-option.patch"
    _replace(copy / "6.1" / "series", oif + "\n", "")
    report = problems(divergences(copy))
    assert len(report) == 3, "\n\n".join(report)
    assert any(r.startswith("unexplained divergence: 'ipv6: make the oif strict")
               and ": only on 6.12: " in r for r in report)
    assert any(UDP_SUBJECT in r and ": trailers: " in r
               and "6.1  | Cc: stable@vger.kernel.org" in r for r in report)
    assert any(UDP_SUBJECT in r and ": message: " in r and "6.1  | Hand the home address" in r
               for r in report)


def test_hunk_offsets_function_text_index_and_context_are_not_divergences(tmp_path):
    """What a rebase onto another tree changes: every hunk header, the blob ids, and the
    context lines (here one context line of the UDP patch)."""
    copy = _copy(tmp_path)
    patch = copy / "6.1" / UDP
    hunk = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@.*$", re.M)
    text = hunk.sub(lambda m: f"@@ -{int(m[1]) + 40}{m[2] or ''} +{int(m[3]) + 41}{m[4] or ''}"
                    " @@ some_other_function(void)", patch.read_text())
    text = re.sub(r"^index \w+\.\.\w+", "index 0123456..789abcd", text, flags=re.M)
    lines = text.splitlines(keepends=True)
    k = next(k for k, line in enumerate(lines) if line.startswith(" \t") and k > 40)
    lines[k] = " \t/* another base's neighbour */\n"
    patch.write_text("".join(lines))
    assert patch.read_text() != (PATCHES / "6.1" / UDP).read_text()
    assert problems(divergences(copy)) == []
