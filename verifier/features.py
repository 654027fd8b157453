# SPDX-License-Identifier: GPL-2.0-only
"""What the running kernel was built with, read from /proc/config.gz."""

import functools
import gzip
import os

import pytest


@functools.cache
def kernel_config() -> dict[str, str]:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            out[k[7:]] = v
    return out


def require(symbol: str, value: str = "y") -> None:
    """Skip the calling test unless CONFIG_<symbol>=<value> in the running kernel."""
    cfg = kernel_config()
    if not cfg:
        pytest.skip("/proc/config.gz missing (CONFIG_IKCONFIG_PROC not set)")
    got = cfg.get(symbol, "n")
    if got != value:
        pytest.skip(f"CONFIG_{symbol}={value} needed, kernel has CONFIG_{symbol}={got}")


def kernel_version() -> tuple[int, int]:
    """(major, minor) of the running kernel."""
    return tuple(int(n) for n in os.uname().release.split("-")[0].split(".")[:2])
