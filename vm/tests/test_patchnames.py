# SPDX-License-Identifier: GPL-2.0-only
"""verifier/patchnames.py is the one place the tests' patch names are
written: each is a patch of some shipped series, every marker in the
verifier uses one of them, and no test module imports another."""

import ast
from pathlib import Path

from mip6kit import series
from mip6kit.verifier import patchnames

VERIFIER = Path(patchnames.__file__).resolve().parent


def test_every_name_is_a_shipped_patch():
    missing = set(patchnames.ALL) - series.every_patch_name()
    assert not missing, f"patchnames.py names no patch of any series: {missing}"


def _modules():
    for path in sorted(VERIFIER.glob("test_*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def test_no_other_verifier_module_spells_a_patch_name():
    """Markers take patchnames.X (directly or from a table of them): no
    string in another verifier module is a patch's name."""
    names = series.every_patch_name()
    bad = []
    for path in sorted(VERIFIER.glob("*.py")):
        if path.name == "patchnames.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                bad.append(f"{path.name}:{node.lineno}: {node.value}")
    assert not bad, "patch names outside verifier/patchnames.py:\n" + "\n".join(bad)


def test_no_test_module_imports_another():
    """-k collects only the modules holding the selection (--modules); a test
    module that imports another undoes that."""
    bad = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] \
                    .startswith("test_"):
                bad.append(f"{path.name}:{node.lineno}: from {node.module}")
    assert not bad, "\n".join(bad)
