# SPDX-License-Identifier: GPL-2.0-only
"""Kernel crashes in console text, each with netdev NIPA's fingerprint and
the test that was running.

Detection: a console has a crash when verifier/splat.py finds a splat of any
kind in it (splat.ALL), which takes in NIPA's own markers (contest/remote/
lib/crash.py has_crash: a "RIP: " or "Call Trace:" message, a ref_tracker
report, a kmemleak "unreferenced object 0x") and adds the KASAN, UBSAN,
lockdep, BUG, WARN, panic, stall and lockup headers.

Extraction and fingerprint follow NIPA's extract_crash and
crash_finger_print: a crash starts at a "Hardware name: " or "ref_tracker: "
message, a " blocked for more than " line or a kmemleak "unreferenced object
0x" (each keeps the five lines before it, which hold the header of a WARN or
KASAN report), and ends at "---[ end trace ", " </TASK>" or an empty
message.  Its fingerprint is the first five function names of its frames
(the RIP line's "0010:func+0x../0x..", a "  func+0x../0x.." frame, a
kmemleak "[<addr>] func+0x../0x.."), joined with ":"; frames marked "?"
and names with dots (func.cold) do not count, as in NIPA.

NIPA reads consoles with printk timestamps ("[   12.345678] "), and its
patterns carry the "] " of the stamp.  The lean kernels print none, so each
line is read as its message with any stamp, caller id ("[T123] ", "[ C3]")
and level removed, and NIPA's rules apply to the message as if a stamp came
before it: a frame's indent then counts as NIPA's two spaces.  Two rules
NIPA gets from its shell prompt are added for a console without one: a
kmemleak report ends at the first line that is not indented, and the next
report starts right there.

Which test: the guest writes "mip6kit: start NODEID" and "mip6kit: end
NODEID" into the kernel log (verifier/kmsg.py); a crash belongs to the test
whose start came last before it.  A crash printed after that test ended
(a namespace freed later by a workqueue) still names it, with during=False.

A console where a splat shows but no crash can be cut out gives one Crash
with NIPA's fingerprint "crash-extract-fail".
"""

import re
from dataclasses import dataclass

from mip6kit.verifier import splat
from mip6kit.verifier.contract import KMSG_END, KMSG_START

EXTRACT_FAIL = "crash-extract-fail"  # NIPA's fingerprint of a crash it could not cut out
DEPTH = 5  # frames in a fingerprint (NIPA's)
# printk's <level>, [time] and [caller] fields, then the one space before the message
_STAMP = re.compile(r"(?:<\d{1,3}>)?(?:\[\s*\d+\.\d+\])?(?:\[\s*[TC]\d+\])?")
_FRAME = re.compile(r".*(  |0:|>\] )([a-z0-9_]+)\+0x[0-9a-f]+/0x[0-9a-f]+.*")
_START = ("Hardware name: ", "ref_tracker: ")
_END = ("---[ end trace ", " </TASK>")
_KMEMLEAK = "unreferenced object 0x"


@dataclass(frozen=True)
class Crash:
    fingerprint: str  # NIPA's: up to five function names joined by ":"
    kind: str  # verifier/splat.py's kind of its headline ("trace" when only frames)
    headline: str  # the splat line that reports it (WARNING: ..., BUG: KASAN: ...)
    lineno: int  # line of the text where it starts, from 1
    text: str  # its lines, with up to five before
    test: str | None = None  # the test (or selftest script) running, by the guest's marks
    during: bool = True  # False: printed after that test had ended


def message(line: str) -> str:
    """The printk message of a console or dmesg line: without its level,
    timestamp, caller id and the one space after them."""
    line = line.rstrip("\r")
    m = _STAMP.match(line)
    if m.end() and line.startswith(" ", m.end()):
        return line[m.end() + 1:]
    return line[m.end():]


def has_crash(text: str) -> bool:
    return splat.find(text, splat.ALL, 0) is not None


def fingerprint(lines: list[str], skip: tuple[tuple[str, ...], ...] = ()) -> str:
    """NIPA's crash_finger_print on messages (see message()); skip holds
    NIPA's crash-prefix-skip filters: leading frames that say nothing
    (the first that matches is dropped)."""
    needles: list[str] = []
    drop = 0
    for line in lines:
        m = _FRAME.match("] " + line)
        if not m:
            continue
        needles.append(m.group(2))
        drop = next((len(p) for p in skip
                     if len(needles) >= len(p) and tuple(needles[:len(p)]) == p), 0)
        if len(needles) - drop == DEPTH:
            break
    return ":".join(needles[drop:])


def extract(text: str, skip: tuple[tuple[str, ...], ...] = ()) -> list[Crash]:
    """Every crash in text, in order (one per report: a ref_tracker message
    lists each reference on its own), none when has_crash() finds none (as
    NIPA cuts out crashes only then); see the module's docstring."""
    if not has_crash(text):
        return []
    lines = text.split("\n")
    msgs = [message(line) for line in lines]
    owners = _owners(msgs)
    crashes: list[Crash] = []
    start = None  # index of the line that started the crash in progress
    kmemleak, prev_end = False, 0
    for i, msg in enumerate(msgs):
        if start is not None and (msg.startswith(_END) or msg == "" or (
                kmemleak and not msg.startswith((" ", "\t")))):
            crashes.append(_crash(lines, msgs, prev_end, start, i, owners[start], skip))
            start, prev_end = None, i
        if start is None and (msg.startswith(_START) or " blocked for more than " in msg
                              or msg.startswith(_KMEMLEAK)):
            start, kmemleak = i, msg.startswith(_KMEMLEAK)
    if start is not None:
        crashes.append(_crash(lines, msgs, prev_end, start, len(lines), owners[start], skip))
    found = [c for c in crashes if c.fingerprint]
    if not found and crashes:
        found = [_failed(crashes[0])]
    if not found and (hit := splat.find(text, splat.ALL, 0)) is not None:
        found = [Crash(EXTRACT_FAIL, hit.kind, hit.line, hit.lineno, hit.excerpt,
                       *owners[hit.lineno - 1])]
    return found


def _failed(c: Crash) -> Crash:
    return Crash(EXTRACT_FAIL, c.kind, c.headline, c.lineno, c.text, c.test, c.during)


def _owners(msgs: list[str]) -> list[tuple[str | None, bool]]:
    """(test, during) for each line: the test whose start mark came last
    before it, and whether its end mark had not come yet."""
    out, test, during = [], None, False
    for msg in msgs:
        if msg.startswith(KMSG_START):
            test, during = msg[len(KMSG_START):].strip(), True
        elif msg.startswith(KMSG_END) and msg[len(KMSG_END):].strip() == test:
            during = False
        out.append((test, during))
    return out


def _crash(lines: list[str], msgs: list[str], prev_end: int, start: int, end: int,
           owner: tuple[str | None, bool], skip) -> Crash:
    """The crash of lines[start:end] with the DEPTH lines before it (none
    from the crash before it: NIPA starts over when one ends).  Its
    headline is the splat header nearest before its start line, looked for
    since the crash before it ended (a lockdep report's header comes long
    before its "Hardware name:"), else the first splat in it."""
    before = max(prev_end, start - DEPTH)
    since = max(prev_end, start - 60)
    hits = [h for h in splat.find_all("\n".join(msgs[since:end]), splat.ALL, 0)
            if h.kind != splat.TRACE]
    head = [h for h in hits if since + h.lineno - 1 <= start][-1:] or hits[:1]
    kind, headline = (head[0].kind, head[0].line) if head else (splat.TRACE,
                                                                 msgs[start].strip())
    text = "\n".join(line.rstrip("\r") for line in lines[before:end])
    return Crash(fingerprint(msgs[before:end], skip), kind, headline, start + 1, text, *owner)
