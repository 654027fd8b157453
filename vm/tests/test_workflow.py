# SPDX-License-Identifier: GPL-2.0-only
"""The hosted-CI workflow (.github/workflows/matrix.yml), checked offline.

- check-jsonschema (the dev extra) validates it against the GitHub
  workflow schema it vendors (no network), and a broken copy must fail;
- yamllint, when the host has it (Debian's /usr/bin/yamllint; scripts/setup.sh
  does not install it), checks its style;
- its matrix names exactly the bases the code supports (tree.DEBIAN_BASES)
  and profiles that exist (profile.names()); a profile it leaves out is
  named in LEFT_OUT with the reason, so a new profile must be placed;
- every `mip6kit run` line, expanded for each matrix combination as the
  runner's bash would expand it, parses with the real parser of vm/cli.py
  (nothing runs) and names that combination's base and profile;
- what it uploads, what it pins and what it may do.

The workflow is read with ruamel.yaml, which check-jsonschema depends on.
"""

import itertools
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mip6kit import cli, profile, tree

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/matrix.yml"

# profiles that the hosted matrix leaves out, and why
LEFT_OUT = {
    "coverage": "what `mip6kit coverage` builds (scripts/test.sh runs its smoke)",
    "debug": "the fuzz and leak campaigns' kernel (KASAN, kmemleak), hours under TCG",
    "selftests": "what `mip6kit selftests` builds for the upstream net selftests",
}
REPORTS = ["nipa.json", "kcidb.json", "matrix.txt", "run.log"]
GITHUB = {"run_id": "17202512050", "run_attempt": "1"}  # a run's github context


def _load(path: Path = WORKFLOW) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def _jobs() -> dict[str, dict]:
    return _load()["jobs"]


def _combinations(job: dict) -> list[dict]:
    """A job's matrix as GitHub expands it: the product of its lists, less
    each `exclude` (a partial match), then each `include` added to every
    combination it does not overwrite, or as a new one if there is none."""
    matrix = dict(job["strategy"]["matrix"])
    include, exclude = matrix.pop("include", []), matrix.pop("exclude", [])
    keys = list(matrix)
    combos = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(matrix[k] for k in keys))]
    combos = [c for c in combos if not any(all(c.get(k) == v for k, v in e.items())
                                           for e in exclude)]
    for extra in include:
        hits = [c for c in combos if all(c.get(k, v) == v for k, v in extra.items()
                                         if k in keys)]
        for c in hits:
            c.update(extra)
        if not hits:
            combos.append(dict(extra))
    return combos


def _expressions(text: str, contexts: dict[str, dict]) -> str:
    """${{ ctx.name }} of the given contexts (matrix, env, github); any other
    expression is an error here."""
    def one(m: re.Match) -> str:
        ctx, _, name = m.group(1).partition(".")
        if ctx not in contexts or name not in contexts[ctx]:
            raise AssertionError(f"cannot expand ${{{{ {m.group(1)} }}}} in {text!r}")
        return str(contexts[ctx][name])
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", one, text)


def _shell_vars(text: str, env: dict[str, str]) -> str:
    """$NAME and ${NAME} as bash expands them (values without spaces or
    quotes, as here); an unset one is an error: a typo would be an empty word."""
    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in env:
            raise AssertionError(f"${name} is not set for {text!r} (env: {sorted(env)})")
        return env[name]
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", one, text)


def _run_lines(script: str) -> list[str]:
    """The `mip6kit run` command lines of a step's script (continuations joined)."""
    joined = script.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if re.search(r"mip6kit run\b", line)]


def _job_env(job: dict, combo: dict, github: dict = GITHUB) -> dict[str, str]:
    return {k: _expressions(str(v), {"matrix": combo, "github": github})
            for k, v in (job.get("env") or {}).items()}


def _invocations(github: dict = GITHUB) -> list[tuple[str, dict, list[str], dict]]:
    """(job, combination, argv after `mip6kit`, env) for every run line of
    every matrix combination of every job."""
    out = []
    for name, job in _jobs().items():
        for combo in _combinations(job):
            for step in job["steps"]:
                for line in _run_lines(step.get("run", "")):
                    ctx = {"matrix": combo, "github": github}
                    env = _job_env(job, combo, github)
                    env |= {k: _expressions(str(v), ctx | {"env": env})
                            for k, v in (step.get("env") or {}).items()}
                    words = shlex.split(_shell_vars(_expressions(line, ctx | {"env": env}),
                                                    env))
                    assert Path(words[0]).name == "mip6kit", line
                    out.append((name, combo, words[1:], env))
    return out


def test_the_workflow_passes_the_schema_lint():
    res = _lint(WORKFLOW)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok -- validation done" in res.stdout


@pytest.mark.parametrize("old,new,where", [
    ("    runs-on: ubuntu-latest", "    runs_on: ubuntu-latest", "$.jobs.matrix"),
    ("timeout-minutes: 90", "timeout-minutes: ninety", "$.jobs.matrix"),
    ("  contents: read", "  contents: readwrite", "$.permissions"),
    ("      - uses: actions/checkout@v4", "      - use: actions/checkout@v4", "$.jobs"),
    ("  cancel-in-progress:", "  cancel_in_progress:", "$.concurrency"),
    ("jobs:\n", "jobs:\n\t", "ScannerError"),
], ids=["runs_on", "timeout-not-a-number", "permission-value", "step-without-uses-or-run",
        "concurrency-key", "tab-indent"])
def test_the_lint_fails_on_a_broken_copy(tmp_path, old, new, where):
    text = WORKFLOW.read_text()
    assert text.count(old) >= 1, f"{old!r} is no longer in the workflow: update this test"
    broken = tmp_path / "matrix.yml"
    broken.write_text(text.replace(old, new, 1))
    res = _lint(broken)
    assert res.returncode != 0, res.stdout
    assert where in res.stdout + res.stderr, res.stdout + res.stderr


def test_yamllint():
    yamllint = shutil.which("yamllint")
    if yamllint is None:
        pytest.skip("yamllint is not installed (Debian: apt-get install yamllint)")
    config = ("{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
              "truthy: {check-keys: false}}}")  # `on:` is a key, not a boolean
    res = subprocess.run([yamllint, "-s", "-d", config, str(WORKFLOW)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_job_runs_every_base_the_code_supports():
    for name, job in _jobs().items():
        bases = job["strategy"]["matrix"]["base"]
        assert all(isinstance(b, str) for b in bases), (
            f"job {name}: quote the bases ({bases}): YAML reads 6.10 as the number 6.1")
        assert sorted(bases) == sorted(tree.DEBIAN_BASES), (
            f"job {name} runs the bases {bases}; the code supports {list(tree.DEBIAN_BASES)}")


def test_the_profiles_are_the_projects():
    """Each profile of vm/profiles (and lean) is either in a matrix or left
    out with a reason: a renamed, removed or new profile breaks this test."""
    used = {p for job in _jobs().values() for p in job["strategy"]["matrix"]["profile"]}
    assert used <= set(profile.names()), f"no such profile: {used - set(profile.names())}"
    assert not used & set(LEFT_OUT), f"both in the matrix and left out: {used & set(LEFT_OUT)}"
    assert used | set(LEFT_OUT) == set(profile.names()), (
        f"profiles neither in the matrix nor in LEFT_OUT: "
        f"{set(profile.names()) - used - set(LEFT_OUT)}")
    push = _load()["jobs"]["matrix"]  # the job of every push and pull request
    assert "if" not in push
    assert {"lean", "modules"} <= set(push["strategy"]["matrix"]["profile"])


def test_the_run_lines_parse_with_the_real_cli(capsys):
    """Each run line of each combination parses with vm/cli.py's parser
    (an unknown option, a base or profile it does not accept, a missing
    value: argparse exits 2) into `run` of that base and profile, with a
    run directory, and nothing else changed (no --dry-run, no -k)."""
    invocations = _invocations()
    combos = {(c["base"], c["profile"]) for _, c, _, _ in invocations}
    expected = {(b, p) for job in _jobs().values() for b in job["strategy"]["matrix"]["base"]
                for p in job["strategy"]["matrix"]["profile"]}
    assert combos == expected, "a matrix combination has no `mip6kit run` line"
    for name, combo, argv, env in invocations:
        try:
            args = cli.build_parser().parse_args(argv)
        except SystemExit as e:
            pytest.fail(f"job {name} {combo}: `mip6kit {shlex.join(argv)}` does not parse "
                        f"(exit {e.code}): {capsys.readouterr().err.strip()}")
        assert args.func is cli.cmd_run, argv
        assert (args.base, args.profile) == (combo["base"], combo["profile"]), argv
        assert args.run_dir == Path(env["RUN_DIR"]), argv
        assert not args.dry_run and args.k is None and args.tree is None, argv
        assert not args.no_series and args.series is None, argv
    distro = [argv for _, c, argv, _ in invocations if c["profile"] == "distro"]
    # the distro kernel: the patched one alone, as scripts/distro-campaign.sh runs it
    assert all("--patched-only" in argv for argv in distro)


def test_each_run_has_a_run_directory_of_its_own():
    """kcidb.json's ids are made from the run directory's name (checkout
    "mip6kit:NAME", vm/reports.py): KCIDB merges objects with one id, so two
    jobs, two runs or two attempts must never share it."""
    names = [Path(env["RUN_DIR"]).name
             for github in (GITHUB, GITHUB | {"run_attempt": "2"}, GITHUB | {"run_id": "1"})
             for _, _, _, env in _invocations(github)]
    assert len(names) == len(set(names)), names


def test_it_uploads_the_run_reports_always():
    for name, job in _jobs().items():
        uploads = [s for s in job["steps"]
                   if s.get("uses", "").startswith("actions/upload-artifact@")]
        assert len(uploads) == 1, name
        step = uploads[0]
        assert step.get("if") == "always()", f"job {name}: upload only when the run passed"
        paths = [p for p in step["with"]["path"].splitlines() if p.strip()]
        for combo in _combinations(job):
            env = _job_env(job, combo)
            expanded = [_expressions(p, {"env": env}) for p in paths]
            assert expanded == [f"{env['RUN_DIR']}/{f}" for f in REPORTS], name
        assert "matrix.base" in step["with"]["name"] and "matrix.profile" in step["with"]["name"]


def test_pins_permissions_concurrency_timeouts():
    wf = _load()
    assert wf["permissions"] == {"contents": "read"}
    assert wf["concurrency"]["group"].startswith("${{ github.workflow }}")
    for name, job in wf["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout"
        assert "permissions" not in job, f"job {name} widens the permissions"
        assert job["container"]["image"] == "debian:12"  # what scripts/setup.sh expects
        assert "--privileged" not in job["container"].get("options", "")
        for step in job["steps"]:
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", uses), (
                    f"job {name}: {uses} is not pinned to a version or a commit")
