# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit coverage, host side: which patch wrote each line, which lines an
#if compiles out, how gcov's counts classify them, and the comparison CI
makes with the checked-in report.  (The real run, a gcov kernel in a
guest, is `mip6kit coverage`; its report is scripts/coverage-*.txt.)"""

import json
import shutil
import subprocess

import pytest

from mip6kit import blame, coverage, covreport, preproc
from mip6kit.proc import Runner

P1 = """\
--- a/net/ipv6/raw.c
+++ b/net/ipv6/raw.c
@@ -1,3 +1,5 @@
 int raw;
+int first;
+int second;
 void f(void)
 {
"""
P2 = """\
--- a/net/ipv6/raw.c
+++ b/net/ipv6/raw.c
@@ -1,5 +1,5 @@
 int raw;
-int first;
+int first_again;
 int second;
 void f(void)
 {
--- a/tools/testing/x.sh
+++ b/tools/testing/x.sh
@@ -1 +1 @@
-old
+new
"""


@pytest.fixture
def series(tmp_path):
    origin = tmp_path / "linux"
    (origin / "net/ipv6").mkdir(parents=True)
    (origin / "tools/testing").mkdir(parents=True)
    (origin / "net/ipv6/raw.c").write_text("int raw;\nvoid f(void)\n{\n}\n")
    (origin / "net/ipv6/Makefile").write_text("obj-y += raw.o\n")
    (origin / "tools/testing/x.sh").write_text("old\n")
    patches = []
    for i, text in enumerate((P1, P2), 1):
        p = tmp_path / f"000{i}-p.patch"
        p.write_text(text)
        patches.append(p)
    return origin, tmp_path / "overlay", patches


def test_blame_names_the_last_patch_that_wrote_each_line(series):
    origin, overlay, patches = series
    owners = blame.origins(origin, overlay, patches, ["p1", "p2"], Runner())
    # tools/ is not kernel code; the line p2 rewrote is p2's, the one it kept p1's
    assert owners == {"net/ipv6/raw.c": {2: "p2", 3: "p1"}}


def test_gcov_profile_goes_to_the_touched_directories_only(series):
    _, _, patches = series
    assert coverage.makefile_appends(patches) == {"net/ipv6/Makefile": coverage.GCOV_LINE}


@pytest.mark.parametrize("cond, config, want", [
    ("IS_ENABLED(CONFIG_A)", {"A": "m"}, True),
    ("IS_BUILTIN(CONFIG_A)", {"A": "m"}, False),
    ("defined(CONFIG_A) && !defined(CONFIG_B)", {"A": "y"}, True),
    ("defined CONFIG_A || IS_ENABLED(CONFIG_B)", {}, False),
    ("CONFIG_A", {"A": "y"}, True),
    ("IS_ENABLED(CONFIG_A) && __BIG_ENDIAN", {"A": "y"}, None),  # unknown macro
])
def test_conditions_on_config_symbols(cond, config, want):
    assert preproc.evaluate(cond, config) is want


def test_lines_of_an_off_branch_are_named_with_their_directive():
    text = ["#ifdef CONFIG_ON", "a;", "#else", "b;", "#endif",
            "#if IS_ENABLED(CONFIG_OFF)", "c;", "#elif defined(CONFIG_ON)", "d;", "#endif",
            "#ifdef __KERNEL__", "e;", "#endif"]
    off = preproc.inactive(text, {"ON": "y"})
    assert off == {4: "line 3: #else of line 1: #ifdef CONFIG_ON",
                   7: "line 6: #if IS_ENABLED(CONFIG_OFF)"}


def _line(patch, n, status, text="x;", count=None):
    return coverage.Line(patch, "net/ipv6/raw.c", n, text, status, count)


def test_classify_and_summary(tmp_path):
    src, build = tmp_path / "src", tmp_path / "build"
    (src / "net/ipv6").mkdir(parents=True)
    (build / "net/ipv6").mkdir(parents=True)
    (src / "net/ipv6/raw.c").write_text(
        "int a;\nrun();\nskip();\n#ifdef CONFIG_X\nout();\n#endif\n")
    (build / "net/ipv6/raw.o").write_bytes(b"")
    (src / "net/xfrm").mkdir()
    (src / "net/xfrm/xfrm_compat.c").write_text("compat();\n")
    (src / "net/xfrm/Makefile").write_text("obj-$(CONFIG_XFRM_USER_COMPAT) += xfrm_compat.o\n")
    owners = {"net/ipv6/raw.c": {1: "p", 2: "p", 3: "p", 5: "p"},
              "net/xfrm/xfrm_compat.c": {1: "p"}}
    counts = {"net/ipv6/raw.c": {2: 4, 3: 0, 5: 0}}
    lines = coverage.classify(src, build, owners, counts, {})
    got = {(ln.path, ln.number): ln.status for ln in lines}
    assert got == {("net/ipv6/raw.c", 1): coverage.NO_CODE,
                   ("net/ipv6/raw.c", 2): coverage.EXECUTED,
                   ("net/ipv6/raw.c", 3): coverage.MISSED,
                   ("net/ipv6/raw.c", 5): coverage.COMPILED_OUT,
                   ("net/xfrm/xfrm_compat.c", 1): coverage.NOT_BUILT}
    reason = next(ln.reason for ln in lines if ln.status == coverage.NOT_BUILT)
    assert reason.startswith("CONFIG_XFRM_USER_COMPAT=n")
    (row,) = covreport.summary(lines, ["p"])
    assert (row["added"], row["code"], row["executed"]) == (5, 2, 1)
    assert [m["line"] for m in row["missed"]] == [3]
    text = covreport.render([row], "t")
    assert "net/ipv6/raw.c:3: skip();" in text and "executed 1 of 2" in text


def test_compare_flags_a_line_that_stopped_running_not_one_that_moved(tmp_path):
    before = [_line("p", 10, coverage.EXECUTED, "a();", 1),
              _line("p", 11, coverage.EXECUTED, "b();", 1),
              _line("p", 12, coverage.EXECUTED, "gone();", 1)]
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(covreport.document(before, [], {})))
    now = [_line("p", 20, coverage.EXECUTED, "a();", 1),  # moved: fine
           _line("p", 21, coverage.MISSED, "b();", 0)]  # stopped running
    assert covreport.regressions(now, report) == ["p: net/ipv6/raw.c: b();"]


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(Exception, match="not a coverage.json"):
        covreport.regressions([], bad)


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("gcov") is None,
                    reason="needs gcc and gcov")
def test_gcov_counts_of_a_real_object(tmp_path):
    """The gcov step on a real .gcda: a program built with --coverage the
    way kbuild builds (object dir = build dir, source at ../)."""
    src = tmp_path / "src"
    build = src / "build"
    build.mkdir(parents=True)
    (src / "t.c").write_text("int main(int c, char **v)\n{\n\tif (c > 5)\n"
                             "\t\treturn 1;\n\treturn 0;\n}\n")
    subprocess.run(["gcc", "--coverage", "-o", "t", "../t.c"], cwd=build, check=True)
    subprocess.run(["./t"], cwd=build, check=True)
    gcda = next(build.glob("*.gcda"))
    counts = coverage.line_counts([gcda], src, Runner())
    assert counts["t.c"][4] == 0 and counts["t.c"][5] == 1


def test_compare_numbers_repeated_text_among_lines_with_code(tmp_path):
    """A text that is both a line without code and one with code (a `}`)
    is numbered among the lines with code only, on both sides."""
    lines = [_line("p", 1, coverage.NO_CODE, "}"), _line("p", 2, coverage.EXECUTED, "}", 3),
             _line("p", 3, coverage.MISSED, "}", 0)]
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(covreport.document(lines, [], {})))
    assert covreport.regressions(lines, report) == []
