# SPDX-License-Identifier: GPL-2.0-only
"""Kernel splats in console or dmesg text: the one detector of the host
(vm/boot.py, a crash on the guest's console: exit 6), the guest (the
no_splat fixture of verifier/conftest.py, dmesg after each test) and the
campaign scripts:

  python -m mip6kit.verifier.splat [--kinds=KINDS] FILE...

prints the first splat of each file (FILE:LINE: KIND: the line, then the
lines around it) and exits 1 if some file has one, 0 if all are clean, 2
on a usage error or a file it cannot read.  KINDS: crash (the default),
leak, all, or kind names joined by commas.

Each line that matches has one kind, the most specific (a KASAN report is
kasan, not bug).  Leaks are kinds of their own, outside CRASH, the
default: a kmemleak object or a refcount tracker's report is a leak, which
vm/leaks.py reports (exit 1), not a crash (exit 6); find(text, LEAK) picks
them.  The guest imports this module, where each import costs seconds
under TCG: it imports re only.
"""

import re

BUG = "bug"  # BUG: ..., kernel BUG at file:line! (BUG_ON)
KASAN = "kasan"
UBSAN = "ubsan"
WARNING = "warning"  # WARN(): WARNING: CPU: n PID: m at file:line func
CUT_HERE = "cut_here"  # the marker before a WARN or BUG whose header never came
LOCKDEP = "lockdep"
RCU_STALL = "rcu_stall"
HUNG_TASK = "hung_task"
LOCKUP = "lockup"  # the soft and hard lockup watchdogs
OOPS = "oops"  # an oops or a kernel general protection fault
PANIC = "panic"
TRACE = "trace"  # RIP: and Call Trace:, the parts every dump has
KMEMLEAK = "kmemleak"
REF_TRACKER = "ref_tracker"  # a netdev or netns reference never put

LEAK = frozenset({KMEMLEAK, REF_TRACKER})
CRASH = frozenset({BUG, KASAN, UBSAN, WARNING, CUT_HERE, LOCKDEP, RCU_STALL, HUNG_TASK,
                   LOCKUP, OOPS, PANIC, TRACE})
ALL = CRASH | LEAK

# (kind, pattern): the first alternative that matches at a place wins, so the
# specific kinds come before the BUG: and WARNING: they start with.
_KINDS = (
    (KASAN, r"BUG: KASAN: "),
    (LOCKUP, r"BUG: soft lockup|Watchdog detected hard LOCKUP"),
    (BUG, r"BUG: |kernel BUG at "),
    (LOCKDEP, r"WARNING: (?:possible (?:circular locking|recursive locking|irq lock inversion)"
              r"|inconsistent lock state|suspicious RCU usage|bad unlock balance|held lock freed"
              r"|lock held when returning to user space|Nested lock was not taken"
              r"|bad contention|chain_key collision|\S+-safe -> \S+-unsafe lock order"
              r"|\S+/\d+ still has locks held)"),
    (WARNING, r"WARNING: (?:CPU: |at )"),
    (CUT_HERE, r"------------\[ cut here \]------------"),
    (UBSAN, r"UBSAN: "),
    (RCU_STALL, r"INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stall"),
    (HUNG_TASK, r"INFO: task .+ blocked for more than "),
    # a user process's fault is "traps: comm[pid] general protection fault ip:..."
    (OOPS, r"Oops: |general protection fault[:,]"),
    (PANIC, r"Kernel panic - "),
    (TRACE, r"RIP: |Call Trace:"),  # only at a message's start: see _hits
    (KMEMLEAK, r"unreferenced object 0x"),
    (REF_TRACKER, r"ref_tracker: |unregister_netdevice: waiting for "),
)
PATTERN = re.compile("|".join(f"(?P<{kind}>{rx})" for kind, rx in _KINDS))
# The same without the groups, to search with: when each alternative starts
# with a plain character, re skips to the places that start with one of
# them, ten times faster (a 30 MB console: 0.3 s); PATTERN then names what
# matched there.  Keep every pattern starting with a literal character.
_SCAN = re.compile("|".join(rx for _, rx in _KINDS))
# The header of a WARN or BUG follows its cut-here marker within this many
# lines (WARN's own message comes in between): the header reports the splat.
LEAD_IN = 5
# RIP: and Call Trace: are whole messages: at the start of a line, or right
# after printk's [time] or [caller] field or <level>, even when a process's
# output was left unfinished on the same console line.  A test's own text
# that quotes them ("no Call Trace: in dmesg") is no splat.  Checked after
# the match: a lookbehind in PATTERN would cost _SCAN its speed, and PATTERN
# alone takes such a quote for a trace.
_MESSAGE_START = ("\n", "] ", ">", "kernel: ")
BEFORE = 5  # lines of an excerpt before the splat's line


class Splat:
    """A splat's first line (stripped: the headline a caller reports), its
    kind, its line number (from 1) and the excerpt around it."""

    __slots__ = ("line", "kind", "lineno", "excerpt")

    def __init__(self, line: str, kind: str, lineno: int, excerpt: str):
        self.line, self.kind, self.lineno, self.excerpt = line, kind, lineno, excerpt

    def __repr__(self) -> str:
        return f"Splat({self.kind}, line {self.lineno}: {self.line!r})"


def find(text: str, kinds=CRASH, context: int = 40) -> Splat | None:
    """The first splat of one of kinds in text, or None when it is clean;
    its excerpt is BEFORE lines before it and context lines from it on."""
    for index, kind in _hits(text, kinds):
        return _splat(_lines(text), index, kind, context)
    return None


def find_all(text: str, kinds=CRASH, context: int = 40) -> list[Splat]:
    """Every line that matches, in order: one splat has several (WARNING,
    RIP, Call Trace), and a dump of its own is one Call Trace."""
    hits = list(_hits(text, kinds))
    lines = _lines(text) if hits else []
    return [_splat(lines, index, kind, context) for index, kind in hits]


def _hits(text: str, kinds):
    """(line index, kind) of each line with a match of kinds, its first;
    a cut-here marker only when no header follows it within LEAD_IN lines."""
    index, pos, marker = 0, 0, None
    while (found := _SCAN.search(text, pos)) is not None:
        m = PATTERN.match(text, found.start())
        index += text.count("\n", pos, m.start())
        pos = m.end()
        kind = m.lastgroup
        if kind not in kinds or (kind == TRACE and m.start()
                                 and not text.endswith(_MESSAGE_START, 0, m.start())):
            continue
        if marker is not None:
            if kind == CUT_HERE or index - marker > LEAD_IN:
                yield marker, CUT_HERE
            marker = None
        if kind == CUT_HERE:
            marker = index
        else:
            yield index, kind
        pos = text.find("\n", pos) + 1  # on to the next line
        if pos == 0:
            break
        index += 1
    if marker is not None:
        yield marker, CUT_HERE


def _lines(text: str) -> list[str]:
    """text's lines, as the line numbers count them (a CR stays, _splat drops it)."""
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()  # what the final newline ends is no line
    return lines


def _splat(lines: list[str], index: int, kind: str, context: int) -> Splat:
    around = lines[max(0, index - BEFORE): index + context]
    return Splat(lines[index].strip(), kind, index + 1,
                 "\n".join(line.rstrip("\r") for line in around))


def main(argv: list[str]) -> int:
    """Exit 1 when some file has a splat, 0 when all are clean, 2 on an error."""
    import sys

    kinds = CRASH
    if argv and argv[0].startswith("--kinds="):
        kinds = _kinds(argv.pop(0)[len("--kinds="):])
    if kinds is None or not argv or argv[0].startswith("-"):
        sys.stderr.write("usage: python -m mip6kit.verifier.splat "
                         "[--kinds=crash|leak|all|KIND,...] FILE...\n")
        return 2
    rc = 0
    for path in argv:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                hit = find(f.read(), kinds)
        except OSError as e:
            sys.stderr.write(f"splat: {e}\n")
            rc = 2
            continue
        if hit is not None:
            rc = rc or 1
            print(f"{path}:{hit.lineno}: {hit.kind}: {hit.line}")
            print("\n".join("  " + line for line in hit.excerpt.split("\n")), flush=True)
    return rc


def _kinds(spec: str) -> frozenset | None:
    """crash, leak, all or kind names joined by commas; None if unknown."""
    groups = {"crash": CRASH, "leak": LEAK, "all": ALL}
    if spec in groups:
        return groups[spec]
    names = frozenset(spec.split(","))
    return names if names <= ALL else None


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
