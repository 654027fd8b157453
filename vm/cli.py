# SPDX-License-Identifier: GPL-2.0-only
"""The mip6kit command line."""

import argparse
import errno
import logging
import os
import signal
import sys
from pathlib import Path

from mip6kit import (
    __version__,
    bisect,
    bootjob,
    configcheck,
    coveragejob,
    export,
    flakiness,
    gc,
    guestrun,
    job,
    patchchecks,
    profile,
    runjob,
    selftests,
    series,
    seriescheck,
    spec,
    tree,
)
from mip6kit.boot import shell
from mip6kit.cache import cache_root
from mip6kit.errors import Exit, MipError, Terminated, exit_code_epilog
from mip6kit.proc import Runner, resume

log = logging.getLogger("mip6kit")

# OSErrors that say the host is at fault, not what the user asked for
HOST_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM, errno.EROFS}

EPILOG = exit_code_epilog() + """\
boot passes the guest command's own exit code through when the guest is sound;
on 129, 130 and 143 the guests are killed first.

environment:
  MIP6KIT_CACHE  cache for sources, scratch trees, builds, ccache and runs
                 (default ~/.cache/mip6kit)
"""
BASES = list(tree.DEBIAN_BASES)


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _test_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError("must be between 0 and 1000000 seconds")
    return value


def _tree_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("kernel tree")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--base", choices=BASES,
                   help=f"Debian linux-source-X package as the tree (default {tree.DEFAULT_BASE})")
    x.add_argument("--tree", type=Path, metavar="PATH",
                   help="any kernel tree, git or plain; only read, never modified")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--series", type=Path, metavar="DIR",
                   help="series directory (default: patches/<major.minor of the tree>)")
    s.add_argument("--no-series", action="store_true", help="build the unpatched tree only")
    g.add_argument("--profile", choices=profile.names(), default=profile.LEAN,
                   help="config: lean (the default; selftests for the selftests command), or lean "
                   "plus vm/profiles/<name>.config; "
                   "each profile has its own build dir")
    g.add_argument("-j", "--jobs", type=_at_least_one, metavar="N", help="make -j (default: all cores)")
    g.add_argument("--run-dir", type=Path, metavar="DIR",
                   help="where logs and results go (default: $MIP6KIT_CACHE/runs/<stamp>)")


def _guest_options(p: argparse.ArgumentParser, timeout: int, tests: bool = False) -> None:
    g = p.add_argument_group("guest")
    k = g.add_mutually_exclusive_group()
    k.add_argument("--kvm", dest="kvm", action="store_true", default=None,
                   help="use KVM without probing")
    k.add_argument("--no-kvm", dest="kvm", action="store_false",
                   help="use TCG (qemu emulation) without probing")
    g.add_argument("--timeout", type=_at_least_one, default=timeout, metavar="S",
                   help=f"kill the guest after S seconds (default {timeout})")
    p.set_defaults(test_timeout=spec.TEST_TIMEOUT)
    if tests:
        g.add_argument("--test-timeout", type=_test_seconds, metavar="S",
                       help="fail a test phase (setup, call, teardown) that runs longer than "
                       "S seconds and go on with the next test (default %(default)g)")


def _tree_spec(args) -> spec.TreeSpec:
    series_dir = args.series.expanduser().resolve() if args.series else None
    return spec.TreeSpec(args.base, args.tree, series_dir, args.no_series, args.profile,
                         args.jobs, args.run_dir)


def _guest_spec(args) -> spec.GuestSpec:
    return spec.GuestSpec(args.kvm, args.timeout, args.test_timeout)


def cmd_run(args, runner: Runner) -> int:
    only = "baseline" if args.baseline_only else "patched" if args.patched_only else None
    if only == "patched" and args.no_series:
        raise MipError("--patched-only needs a series; --no-series builds the tree as it is")
    s = spec.RunSpec(_tree_spec(args), _guest_spec(args), args.k, only)
    with job.open_job(s.tree, cache_root(), runner) as j:
        return runjob.run(j, s.guest, s.pytest_args(), s.only)


def cmd_coverage(args, runner: Runner) -> int:
    if args.profile != coveragejob.PROFILE:
        raise MipError(f"coverage builds the {coveragejob.PROFILE} profile; drop --profile")
    compare = args.compare.expanduser().resolve() if args.compare else None
    if compare is not None and not compare.is_file():
        raise MipError(f"--compare {compare}: no such file (a coverage.json of an earlier "
                       "mip6kit coverage)")
    s = spec.CoverageSpec(_tree_spec(args), _guest_spec(args), args.k, compare)
    with job.open_job(s.tree, cache_root(), runner) as j:
        return coveragejob.run(j, s)


def cmd_selftests(args, runner: Runner) -> int:
    scripts = selftests.SMOKE_SCRIPTS if args.smoke else \
        args.scripts or selftests.DEFAULT_SCRIPTS
    s = spec.SelftestsSpec(_tree_spec(args), _guest_spec(args), tuple(scripts),
                           args.script_timeout, args.repeat)
    with job.open_job(s.tree, cache_root(), runner) as j:
        return selftests.run(j, s)


def cmd_series_check(args, runner: Runner) -> int:
    if runner.dry_run:
        raise MipError("series check has no --dry-run: it builds and boots every step")
    s = spec.SeriesCheckSpec(tuple(args.base or BASES), _guest_spec(args), args.jobs,
                             args.static_only, tuple(args.checks or ()))
    return seriescheck.run(s, cache_root(), runner)


def cmd_series_cc(args, runner: Runner) -> int:
    """Each tree series' recipients from get_maintainer.pl; --write puts
    them in its cover letter (or its one patch)."""
    if runner.dry_run and args.write:
        raise MipError("series cc --write has no --dry-run: leave out --write to see them")
    for base in args.base or BASES:
        with job.open_job(spec.TreeSpec(base=base), cache_root(), runner) as j:
            with job.locked(j):
                mails = patchchecks.set_recipients(j, args.write)
            for mail, to, cc in mails:
                verb = "wrote" if args.write else "want"
                print(f"{base} {mail.parent.name}: {verb} To: {', '.join(to)}\n"
                      f"    Cc: {', '.join(cc)}\n    in {mail}", flush=True)
    return Exit.PASS


def _checks(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in patchchecks.CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown check {', '.join(unknown) or repr(text)}; "
                                         f"choose from {','.join(patchchecks.CHECKS)}")
    return names


def cmd_flakiness(args, runner: Runner) -> int:
    if runner.dry_run:
        raise MipError("flakiness has no --dry-run: it boots every kernel N times")
    s = spec.FlakinessSpec(tuple(args.base or BASES),
                           tuple(args.kernel or job.VARIANTS), args.runs, args.out,
                           _guest_spec(args))
    return flakiness.run(s, cache_root(), runner)


def cmd_bisect(args, runner: Runner) -> int:
    if runner.dry_run:
        raise MipError("bisect has no --dry-run: every step builds and boots a kernel")
    tree_dir = args.tree.expanduser().resolve()
    if not tree_dir.is_dir():
        raise MipError(f"--tree {tree_dir}: no such directory")
    series_dir = args.series.expanduser().resolve() if args.series else None
    if series_dir is not None and not (series_dir / "series").is_file():
        raise MipError(f"--series {series_dir}: no series file there")
    paths = args.paths[1:] if args.paths[:1] == ["--"] else args.paths
    s = spec.BisectSpec(tree_dir, args.good, args.bad, _guest_spec(args), args.k,
                        args.retries, args.jobs, series_dir, args.first_good, tuple(paths))
    return bisect.run(s, cache_root(), job.new_rundir(cache_root(), "bisect"), runner)


def cmd_build(args, runner: Runner) -> int:
    s = spec.BuildSpec(_tree_spec(args), args.baseline)
    with job.open_job(s.tree, cache_root(), runner) as j, job.locked(j):
        image = job.build_variant(j, j.kernel(s.baseline))
    print(image)
    return Exit.PASS


def cmd_boot(args, runner: Runner) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command and not runner.dry_run and not sys.stdin.isatty():
        raise MipError("boot with no command is an interactive shell and needs a terminal "
                       "on stdin; give a command: mip6kit boot [options] -- CMD [ARGS...]")
    rwdirs = [d.expanduser().resolve() for d in args.rwdir]
    for d in rwdirs:
        if not d.is_dir():
            raise MipError(f"--rwdir {d}: no such directory (create it first)")
    s = spec.BootSpec(_tree_spec(args), _guest_spec(args), tuple(command), args.baseline,
                      tuple(rwdirs), tuple(args.qemu_opt))
    with job.open_job(s.tree, cache_root(), runner) as j, job.locked(j):
        if not s.command:
            image = job.build_variant(j, j.kernel(s.baseline))
            return shell(image, runner, kvm=guestrun.decide_kvm(j, image, s.guest.kvm),
                         rwdirs=list(s.rwdirs), qemu_opts=list(s.qemu_opts))
        return bootjob.run(j, s)


def cmd_export(args, runner: Runner) -> int:
    series_dir = args.series or series.shipped(args.base or tree.DEFAULT_BASE)
    meta = export.Dep3(args.origin_url, args.bug, args.forwarded)
    written = export.export(args.format, series_dir, args.output, only=args.patches,
                            layout=args.layout, meta=meta, dry_run=runner.dry_run)
    for path in written:
        print(f"would write {path}" if runner.dry_run else path)
    patches = sum(p.suffix == ".patch" for p in written)
    log.info("%s %d patches of %s (%s, layout %s) into %s", "would export" if runner.dry_run
             else "exported", patches, series_dir, args.format, args.layout, args.output)
    if args.format == "debian" and not args.origin_url:
        log.info("DEP-3 Origin names the patch's file in mip6kit; --origin-url URL makes it "
                 "a link")
    return Exit.PASS


def cmd_list(args, runner: Runner) -> int:
    tests = guestrun.collect(["-k", args.k] if args.k else [], runner)
    sys.stdout.write("".join(f"{t}\n" for t in tests))
    log.info("%d tests%s", len(tests), f" match -k {args.k}" if args.k else "")
    return Exit.PASS


def cmd_config_check(args, runner: Runner) -> int:
    report = configcheck.check(args.file)
    sys.stdout.write(configcheck.render(report, args.file))
    return Exit.PASS if configcheck.passed(report) else Exit.TEST_FAILURE


def cmd_gc(args, runner: Runner) -> int:
    removed, freed = gc.collect(cache_root(), args.keep, runner.dry_run)
    verb = "would free" if runner.dry_run else "freed"
    print(f"{len(removed)} directories, {verb} {gc.human(freed)}")
    return Exit.PASS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mip6kit", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Apply the MIP6 series to a kernel tree, build it, boot it under "
                    "virtme-ng and run the verifier inside.")
    p.add_argument("--version", action="version", version=f"mip6kit {__version__}")
    v = p.add_mutually_exclusive_group()
    v.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    v.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    p.add_argument("--dry-run", action="store_true",
                   help="print the commands that would run, change nothing")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    r = sub.add_parser("run", help="build baseline and patched kernels, verify both, "
                       "print the matrix", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _tree_options(r)
    _guest_options(r, 900, tests=True)
    only = r.add_mutually_exclusive_group()
    only.add_argument("--baseline-only", action="store_true",
                      help="build and verify the unpatched kernel only")
    only.add_argument("--patched-only", action="store_true",
                      help="build and verify the patched kernel only: every test must pass")
    r.add_argument("-k", metavar="EXPR", help="pytest -k expression to select tests")
    r.set_defaults(func=cmd_run)

    cv = sub.add_parser("coverage", help="run the verifier on the patched kernel built "
                        "with gcov (coverage profile) and report, per patch, which of the "
                        "lines it adds were executed", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _tree_options(cv)
    cv.set_defaults(profile=coveragejob.PROFILE)
    _guest_options(cv, 900, tests=True)
    cv.add_argument("-k", metavar="EXPR", help="pytest -k expression to select tests")
    cv.add_argument("--compare", type=Path, metavar="COVERAGE_JSON",
                    help="exit 1 if a line executed in this earlier coverage.json is not "
                    "executed now (CI's coverage smoke)")
    cv.set_defaults(func=cmd_coverage)

    st = sub.add_parser("selftests", help="upstream net selftests on the baseline and the "
                        "patched kernel (selftests profile); fails when a result differs",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _tree_options(st)
    st.set_defaults(profile="selftests")
    _guest_options(st, 5400)
    which = st.add_mutually_exclusive_group()
    which.add_argument("--script", dest="scripts", action="append", metavar="NAME[:ARGS]",
                       help="a script of tools/testing/selftests/net, with its arguments "
                       "after a colon (repeatable; default: "
                       f"{', '.join(selftests.DEFAULT_SCRIPTS)})")
    which.add_argument("--smoke", action="store_true",
                       help=f"only {', '.join(selftests.SMOKE_SCRIPTS)} (what CI runs)")
    st.add_argument("--script-timeout", type=float, default=1800, metavar="S",
                    help="kill a script after S seconds (default 1800)")
    st.add_argument("--repeat", type=_at_least_one, default=2, metavar="N",
                    help="run each script N times per kernel; a test whose outcome changes "
                    "between them is reported as flaky, not as a difference (default 2)")
    st.set_defaults(func=cmd_selftests)

    b = sub.add_parser("build", help="build a kernel and print the bzImage path",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _tree_options(b)
    b.add_argument("--baseline", action="store_true", help="without the series")
    b.set_defaults(func=cmd_build)

    bt = sub.add_parser("boot", help="run CMD as root in a guest and exit with its code; "
                        "without CMD, an interactive shell (as vng)",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _tree_options(bt)
    _guest_options(bt, 300)
    bt.add_argument("--baseline", action="store_true", help="boot the unpatched kernel")
    bt.add_argument("--rwdir", type=Path, action="append", default=[], metavar="DIR",
                    help="a host directory the guest may write to (repeatable); the "
                    "rest of the host is read-only in the guest. Each costs about 3 s "
                    "of boot time under TCG")
    bt.add_argument("--qemu-opt", action="append", default=[], metavar="OPT",
                    help="an extra qemu option, passed to vng --qemu-opts (repeatable), "
                    "e.g. --qemu-opt='-icount shift=0,sleep=off' for a guest clock that "
                    "counts instructions (scripts/sendcost.py)")
    bt.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS]",
                    help="the command to run; none: an interactive shell")
    bt.set_defaults(func=cmd_boot)

    e = sub.add_parser("export", help="write the series as quilt, Debian (DEP-3) or RPM "
                       "patches for a distribution kernel package", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--format", required=True, choices=export.FORMATS)
    s = e.add_mutually_exclusive_group()
    s.add_argument("--base", choices=BASES,
                   help=f"series of this base (default {tree.DEFAULT_BASE})")
    s.add_argument("--series", type=Path, metavar="DIR", help="another series directory")
    e.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="a new or empty directory")
    e.add_argument("--patches", nargs="+", metavar="NAME",
                   help="only these patches (their names without number and .patch, as "
                   "test markers write them), in series order")
    e.add_argument("--layout", choices=export.LAYOUTS, default="flat",
                   help="debian only: flat (debian/patches/mip6kit/) or debian-kernel "
                   "(Fixes: patches in bugfix/all/, the others in features/all/)")
    e.add_argument("--origin-url", metavar="URL",
                   help="DEP-3 Origin: URL/<base>/<tree>/<patch> (the project's patches/ "
                   "folder as published); stable backports name their mainline commit")
    e.add_argument("--bug", metavar="URL", help="DEP-3 Bug: field")
    e.add_argument("--forwarded", metavar="URL|no|not-needed", default="no",
                   help="DEP-3 Forwarded: field (default no)")
    e.set_defaults(func=cmd_export)

    ls = sub.add_parser("list", help="list the verifier's tests (the names -k selects from)")
    ls.add_argument("-k", metavar="EXPR", help="only the tests this pytest -k expression selects")
    ls.set_defaults(func=cmd_list)

    c = sub.add_parser("config", help="kernel config checks")
    csub = c.add_subparsers(dest="config_cmd", metavar="COMMAND", required=True)
    cc = csub.add_parser("check", help="report MIP6-relevant symbols of a .config "
                         "(exit 1 if a required one is missing, wrong or =m)")
    cc.add_argument("file", type=Path, help="a .config, e.g. /boot/config-$(uname -r)")
    cc.set_defaults(func=cmd_config_check)

    se = sub.add_parser("series", help="series workflows")
    sesub = se.add_subparsers(dest="series_cmd", metavar="SUBCOMMAND", required=True)
    sc = sesub.add_parser("check", help="apply the series patch by patch: build, "
                          "checkpatch --strict and the verifier after each; every test "
                          "marked patch(X) must flip exactly at X (exit 1 if not)",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sc.add_argument("--base", action="append", choices=BASES,
                    help="a base to check (repeatable; default: every base)")
    sc.add_argument("-j", "--jobs", type=_at_least_one, metavar="N", help="make -j (default: all cores)")
    sc.add_argument("--static-only", action="store_true",
                    help="only the per-patch checks (no kernel per step, no guests)")
    sc.add_argument("--checks", type=_checks, metavar="A,B",
                    help="which per-patch checks (default: all): "
                    + ",".join(patchchecks.CHECKS))
    _guest_options(sc, 900, tests=True)
    sc.set_defaults(func=cmd_series_check)
    scc = sesub.add_parser("cc", help="each tree series' recipients (get_maintainer.pl "
                          "--no-git on its patches): lists To, people Cc")
    scc.add_argument("--base", action="append", choices=BASES,
                     help="a base (repeatable; default: every base)")
    scc.add_argument("--write", action="store_true",
                     help="write them into the cover letter (or the one patch) of each tree "
                     "series in the checkout's patches/")
    scc.set_defaults(func=cmd_series_cc)

    bi = sub.add_parser("bisect", help="git bisect run over a kernel history: each step "
                        "builds the lean kernel, boots it and runs the chosen tests",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    bi.add_argument("--tree", type=Path, required=True, metavar="GIT_TREE",
                    help="a kernel git work tree (only read: mip6kit bisects a --shared "
                    "clone of it in its cache)")
    bi.add_argument("--good", required=True, metavar="REV")
    bi.add_argument("--bad", required=True, metavar="REV")
    bi.add_argument("-k", metavar="EXPR", default="",
                    help="the verifier tests to run (pytest -k; default: all)")
    bi.add_argument("--retries", type=_at_least_one, default=1, metavar="N",
                    help="run the tests N times per commit; good only if every run "
                    "passes (default 1)")
    bi.add_argument("-j", "--jobs", type=_at_least_one, metavar="N", help="make -j (default: all cores)")
    bi.add_argument("--series", type=Path, metavar="DIR",
                    help="apply this series at each step and build both kernels: good when "
                    "the series still does its job on that commit")
    bi.add_argument("--first-good", action="store_true",
                    help="look for the first commit where the tests pass (which commit "
                    "fixed it); --bad is then the older end")
    bi.add_argument("paths", nargs="*", metavar="-- PATH",
                    help="only commits that touch these paths (git bisect start -- PATH)")
    _guest_options(bi, 900)
    bi.set_defaults(func=cmd_bisect)

    fl = sub.add_parser("flakiness", help="run the whole verifier N times in a row in one "
                        "guest per kernel; report every test whose outcome changes",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fl.add_argument("--base", action="append", choices=BASES,
                    help="a base to run (repeatable; default: every base)")
    fl.add_argument("--kernel", action="append", choices=list(job.VARIANTS),
                    help="a kernel to run (repeatable; default: both)")
    fl.add_argument("--runs", type=_at_least_one, default=20, metavar="N",
                    help="verifier runs per kernel (default 20)")
    fl.add_argument("--out", type=Path, metavar="FILE",
                    help="append the summary here (default: the checkout's "
                    "scripts/flakiness-results.txt)")
    _guest_options(fl, 600, tests=True)  # --timeout: per run
    fl.set_defaults(func=cmd_flakiness)

    g = sub.add_parser("gc", help="remove old run directories and unused build directories "
                       "from the cache (with --dry-run: list them)")
    g.add_argument("--keep", type=int, default=5, metavar="N",
                   help="keep the N newest runs and, per scratch tree, the N most "
                   "recently used build directories (default 5)")
    g.set_defaults(func=cmd_gc)
    _accept_global_options(p)
    return p


def synopsis(width: int = 100) -> str:
    """Every command's usage line as --help prints it: the README's Commands
    section is this text (a host test keeps them equal)."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        parser = build_parser()
        lines = [parser.format_usage()]
        lines += [sub.format_usage() for sub in _commands(parser)]
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    prefix = "usage: "
    return "".join(line.removeprefix(prefix).replace("\n" + " " * len(prefix), "\n")
                   for line in lines)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """parser's direct subcommand parsers, in the order they were added."""
    out: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # argparse has no public walk of subparsers
        if isinstance(action, argparse._SubParsersAction):
            out += dict.fromkeys(action.choices.values())  # aliases map to one parser
    return out


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The leaf subcommand parsers, in the order they were added."""
    return [leaf for sub in _subparsers(parser) for leaf in _commands(sub) or [sub]]


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """-v, -q and --dry-run after the subcommand too (`mip6kit gc --dry-run`):
    each subparser gets them with SUPPRESS as default, so one given there
    overrides the main parser's value and one not given leaves it alone."""
    for sub in _subparsers(parser):
        g = sub.add_argument_group("global options (also before the command)")
        g.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="debug logging")
        g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="warnings and errors only")
        g.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                       help="print the commands that would run, change nothing")
        _accept_global_options(sub)


FATAL_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _terminate(signum, frame) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    previous = {signal.SIGINT: signal.getsignal(signal.SIGINT)}  # flakiness may ignore it
    previous |= {s: signal.signal(s, _terminate) for s in FATAL_SIGNALS}
    try:
        return _main(argv)
    finally:  # a caller that imports main() gets its own handlers back
        for s, handler in previous.items():
            signal.signal(s, handler)


def _main(argv: list[str] | None) -> int:
    resume()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.quiet:
        parser.error("-v/--verbose and -q/--quiet are mutually exclusive")
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="mip6kit: %(message)s", stream=sys.stderr)
    logging.getLogger().handlers[0].setLevel(level)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        return int(args.func(args, Runner(args.dry_run)))
    except MipError as e:
        log.error("%s", e)
        return int(e.code)
    except (OSError, UnicodeError) as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        log.error("%s%s", e.strerror if isinstance(e, OSError) and e.strerror else e, where)
        if isinstance(e, OSError) and e.errno in HOST_FAULTS:
            return int(Exit.HOST_FAILURE)
        return int(Exit.USAGE)
    except Terminated as e:
        log.error("terminated (%s); guests killed", signal.Signals(e.signum).name)
        return 128 + e.signum
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
