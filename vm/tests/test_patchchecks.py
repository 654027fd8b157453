# SPDX-License-Identifier: GPL-2.0-only
"""The per-patch checks' parsing and verdicts (vm/patchchecks.py) on
hand-made tool output, and on the series as checked in; the real runs are
`mip6kit series check --static-only` (README, Upstream checks)."""

import shutil
import subprocess

import pytest

from mip6kit import patchchecks as pc
from mip6kit import resources

PATCH = """From 1234 Mon Sep 17 00:00:00 2001
From: Ann Author <ann@example.org>
Date: Sat, 5 Dec 2026 14:00:00 +0000
Subject: [PATCH net] ipv6: a fix that is long enough to wrap onto
 a second line

Body.

Fixes: 7a0207094f1b ("xfrm: policy: replace session decode with flow dissector")
Signed-off-by: Ann Author <ann@example.org>
---
 net/ipv6/raw.c | 1 +
"""


def test_diagnostics_drop_line_numbers_and_resolve_paths(tmp_path):
    src = tmp_path / "src"
    bdir = src / ".mip6kit-build-static-x86_64"
    bdir.mkdir(parents=True)
    out = ("../net/ipv6/raw.c:10:5: warning: unused variable 'x' [-Wunused-variable]\n"
           "../net/ipv6/raw.c:12:1: note: in expansion of macro\n"
           "  CC      net/ipv6/raw.o\n"
           "/abs/include/x.h:3: error: bad\n")
    assert pc.diagnostics(out, src, bdir) == [
        "net/ipv6/raw.c: warning: unused variable 'x' [-Wunused-variable]",
        "/abs/include/x.h: error: bad"]


def test_only_more_of_a_warning_is_new():
    before = ["a.c: warning: x", "a.c: warning: x", "a.c: warning: y"]
    assert pc.new_warnings(before, ["a.c: warning: x", "a.c: warning: y"]) == []
    assert pc.new_warnings(before, before + ["a.c: warning: x"]) == ["a.c: warning: x"]


def test_objects_are_the_kernel_c_files():
    assert pc.objects({"net/ipv6/raw.c", "include/net/xfrm.h", "tools/testing/x.c",
                       "scripts/y.c"}) == ["net/ipv6/raw.o"]


def test_configured_reads_kbuild_makefiles(tmp_path):
    (tmp_path / "net/xfrm").mkdir(parents=True)
    (tmp_path / "net/xfrm/Makefile").write_text(
        "obj-$(CONFIG_XFRM_USER) += xfrm_user.o\nobj-$(CONFIG_XFRM_USER_COMPAT) += "
        "xfrm_compat.o\nxfrm_interface-$(CONFIG_XFRM_INTERFACE) += xfrm_interface_core.o\n"
        "obj-y := xfrm_policy.o \\\n\txfrm_state.o\n")
    config = tmp_path / ".config"
    config.write_text("CONFIG_XFRM_USER=m\n# CONFIG_XFRM_USER_COMPAT is not set\n")
    assert pc.configured(tmp_path, config, "net/xfrm/xfrm_user.o")
    assert not pc.configured(tmp_path, config, "net/xfrm/xfrm_compat.o")
    assert not pc.configured(tmp_path, config, "net/xfrm/xfrm_interface_core.o")
    assert pc.configured(tmp_path, config, "net/xfrm/xfrm_state.o")  # a continuation line


def test_signedoff_needs_the_author():
    assert pc.check_signedoff(PATCH).result == pc.PASS
    other = PATCH.replace("Signed-off-by: Ann Author <ann@", "Signed-off-by: Bob <bob@")
    check = pc.check_signedoff(other)
    assert check.result == pc.FAIL and "ann@example.org" in check.summary
    # a Signed-off-by below the --- is not part of the commit
    below = PATCH.replace("Signed-off-by: Ann Author <ann@example.org>\n---\n",
                          "---\nSigned-off-by: Ann Author <ann@example.org>\n")
    assert pc.check_signedoff(below).result == pc.FAIL


@pytest.mark.parametrize("tag,verdict", [
    ('Fixes: 7a0207094f1b ("xfrm: policy: replace session decode with flow dissector")', "pass"),
    ('Fixes: 7a0207094f1b14b2a690594e9b3587dddff0be5d ("xfrm: policy: replace session '
     'decode with flow dissector")', "pass"),
    ('Fixes: 7a0207094f1b ("xfrm: policy: replace session decode")', "upstream"),
    ('Fixes: 7a02070 ("xfrm: policy: replace session decode with flow dissector")',
     "malformed"),
    ("Fixes: 7a0207094f1b xfrm: policy: replace session decode with flow dissector",
     "malformed"),
    ('Fixes: 0123456789ab ("xfrm: something else")', "not in"),
])
def test_fixes_format_and_subject(tag, verdict):
    text = PATCH.replace('Fixes: 7a0207094f1b ("xfrm: policy: replace session decode with '
                         'flow dissector")', tag)
    check = pc.check_fixes(text, pc.known_commits())
    assert (check.result == pc.PASS) == (verdict == "pass"), check.summary
    if verdict != "pass":
        assert verdict in check.summary


def test_a_wrapped_fixes_tag_is_one_line():
    text = PATCH.replace('("xfrm: policy: replace session decode with flow dissector")',
                         '("xfrm: policy: replace session decode with\n flow dissector")')
    assert pc.check_fixes(text, pc.known_commits()).result == pc.PASS


def test_every_tag_the_series_quotes_is_in_the_table():
    known = pc.known_commits()
    for patch in resources.patches().glob("*/*/0*.patch"):
        check = pc.check_fixes(patch.read_text(), known)
        assert check.result == pc.PASS, f"{patch}: {check.summary}"


def test_checkpatch_verdict_tolerates_only_the_benign():
    ok = ("WARNING: Unknown commit id 'abc', maybe rebased?\n\n"
          "total: 0 errors, 1 warnings, 0 checks, 9 lines checked\n")
    assert pc.checkpatch_verdict(ok) == (pc.PASS, "0 errors, 1 warnings, 1 benign, 0 checks")
    bad = ("WARNING: line length of 120 exceeds 100 columns\n\n"
           "total: 0 errors, 1 warnings, 0 checks, 9 lines checked\n")
    assert pc.checkpatch_verdict(bad)[0] == pc.FAIL
    assert pc.checkpatch_verdict("perl: not found")[0] == pc.FAIL


def test_checkpatch_stable_upstream_line_is_benign_only_in_stable_form():
    block = ("ERROR: Please use git commit description style 'commit <12+ chars of sha1> "
             "(\"<title line>\")'\n#7: \ncommit {} upstream.\n\n"
             "total: 1 errors, 0 warnings, 0 checks, 14 lines checked\n")
    assert pc.checkpatch_verdict(block.format("5502bc4746e86bfe91ecbe0ed1ad53cb17673920"))[0] \
        == pc.PASS
    assert pc.checkpatch_verdict(block.format("5502bc4746e8"))[0] == pc.FAIL


def test_recipients_are_rewritten_not_added_twice():
    once = pc.with_recipients(PATCH, ["netdev@vger.kernel.org"], ["A <a@x.org>", "B <b@x.org>"])
    assert pc.recipients(once) == {"netdev@vger.kernel.org", "a@x.org", "b@x.org"}
    twice = pc.with_recipients(once, ["netdev@vger.kernel.org"], ["A <a@x.org>"])
    assert pc.recipients(twice) == {"netdev@vger.kernel.org", "a@x.org"}
    assert twice.split("\n\n", 1)[1] == PATCH.split("\n\n", 1)[1]  # the body is untouched
    assert "Subject: [PATCH net] ipv6: a fix" in twice and " a second line" in twice


def test_every_checked_in_mail_names_its_recipients():
    """series cc --write was run: each tree series' cover letter (or its one
    patch) has a To: and a Cc: (series check's maintainers row checks them
    against get_maintainer.pl)."""
    for tree in resources.patches().glob("*/*/"):
        cover = tree / pc.COVER
        mail = cover if cover.is_file() else next(tree.glob("0*.patch"))
        fields = pc.header_fields(mail.read_text())
        assert "netdev@vger.kernel.org" in fields.get("To", ""), mail
        assert "davem@davemloft.net" in fields.get("Cc", ""), mail


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_output_parses(tmp_path):
    script = tmp_path / "t.sh"
    script.write_text("#!/bin/bash\nfor i in 1 2; do echo x; done\n")
    res = subprocess.run(pc._shellcheck_argv(script.name), cwd=tmp_path, capture_output=True,
                         text=True)
    assert pc.diagnostics(res.stdout) == [
        "t.sh: warning: i appears unused. Verify use (or export if used externally). [SC2034]"]
