# SPDX-License-Identifier: GPL-2.0-only
"""A test edit reaches the guest: the verifier runs from the tar that
vm/guestpy.py packs, and an edited test module gives a new tar (real
guests, the cached 6.12 baseline kernel)."""

import os
import re

import pytest

from mip6kit import resources

pytestmark = pytest.mark.vm

PROBE = '''# SPDX-License-Identifier: GPL-2.0-only
"""Written by vm/tests/test_vm_guestpy.py for one run, then removed."""
import mip6kit.verifier as v


def test_guestpy_probe():
    assert v.__file__.startswith("/run/mip6kit-py/"), v.__file__  # the tmpfs, not 9p
    assert "{marker}" == "first", "the edit reached the guest"
'''


def test_an_edited_test_module_reaches_the_next_guest(cli, tmp_path):
    """The probe passes as first written (imported from the guest's tmpfs);
    edited, it fails with the new text: the next run saw the edit."""
    name = f"test_zz_guestpy_{os.getpid()}"
    module = resources.verifier() / f"{name}.py"
    try:
        outcomes = []
        for marker in ("first", "second"):
            module.write_text(PROBE.format(marker=marker))
            res = cli("run", "--baseline-only", "--run-dir", str(tmp_path / marker), "-k",
                      name)
            found = re.search(rf"^(not ok|ok) \d+ .*{name}", res.stdout, re.M)
            assert found, res.stdout[-3000:] + res.stderr[-3000:]
            outcomes.append((found.group(1), res.returncode))
        assert outcomes == [("ok", 0), ("not ok", 1)], outcomes
        assert "the edit reached the guest" in res.stdout + res.stderr
    finally:
        module.unlink(missing_ok=True)
