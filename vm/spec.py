# SPDX-License-Identifier: GPL-2.0-only
"""What each command was asked to do, as typed values.

The CLI (vm/cli.py) turns its argparse result into these, once; nothing
below the CLI sees an argparse Namespace.  Campaigns (series check,
flakiness) build them directly."""

from dataclasses import dataclass, field
from pathlib import Path

from . import profile

TEST_TIMEOUT = 120.0  # s, default per test phase; the slowest test takes about 15 s under TCG


@dataclass(frozen=True)
class TreeSpec:
    """Which kernel tree, which series on it, which config, where results go."""

    base: str | None = None  # a Debian base (tree.DEBIAN_BASES); None: the default
    tree: Path | None = None  # any kernel tree instead of a Debian base
    series: Path | None = None  # a series directory instead of patches/<version>
    no_series: bool = False  # the unpatched tree only
    profile: str = profile.LEAN
    jobs: int | None = None  # make -j; None: every core
    run_dir: Path | None = None  # None: a new directory under $MIP6KIT_CACHE/runs


@dataclass(frozen=True)
class GuestSpec:
    kvm: bool | None = None  # None: probe once per host
    timeout: float = 900.0  # s, the whole guest
    test_timeout: float = TEST_TIMEOUT  # s, each test phase in the verifier

    def kvm_args(self) -> list[str]:
        """The --kvm/--no-kvm a child mip6kit gets: none when it should probe."""
        return [] if self.kvm is None else ["--kvm" if self.kvm else "--no-kvm"]


@dataclass(frozen=True)
class RunSpec:
    tree: TreeSpec
    guest: GuestSpec
    k: str | None = None  # pytest -k
    only: str | None = None  # "baseline" or "patched": build and verify that kernel alone

    def pytest_args(self) -> list[str]:
        return ["-k", self.k] if self.k else []


@dataclass(frozen=True)
class CoverageSpec:
    tree: TreeSpec
    guest: GuestSpec
    k: str | None = None
    compare: Path | None = None  # an earlier coverage.json whose lines must run again


@dataclass(frozen=True)
class SelftestsSpec:
    tree: TreeSpec
    guest: GuestSpec
    scripts: tuple[str, ...]  # NAME[:ARGS] of tools/testing/selftests/net
    script_timeout: float = 1800.0
    repeat: int = 2


@dataclass(frozen=True)
class BuildSpec:
    tree: TreeSpec
    baseline: bool = False


@dataclass(frozen=True)
class BootSpec:
    tree: TreeSpec
    guest: GuestSpec
    command: tuple[str, ...]
    baseline: bool = False
    rwdirs: tuple[Path, ...] = ()
    qemu_opts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesCheckSpec:
    bases: tuple[str, ...]
    guest: GuestSpec
    jobs: int | None = None
    static_only: bool = False  # the per-patch checks alone: no guest steps
    checks: tuple[str, ...] = ()  # which per-patch checks; () is all of patchchecks.CHECKS


@dataclass(frozen=True)
class BisectSpec:
    tree: Path
    good: str
    bad: str
    guest: GuestSpec
    k: str = ""
    retries: int = 1
    jobs: int | None = None
    series: Path | None = None  # applied at each step: does the series still work?
    first_good: bool = False  # look for the first commit where the tests pass
    paths: tuple[str, ...] = ()  # only commits that touch these


@dataclass(frozen=True)
class FlakinessSpec:
    bases: tuple[str, ...]
    kernels: tuple[str, ...] = ("baseline", "patched")
    runs: int = 20
    out: Path | None = None  # where the summary is appended
    guest: GuestSpec = field(default_factory=GuestSpec)
