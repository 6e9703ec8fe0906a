"""The GitHub Action and the workflows: no expression inside a `run:` script, the
facts cache kept with actions/cache, and the Action's own scripts run as written.

GitHub expands `${{ ... }}` into a run script's text before the shell reads it,
so an input or a branch name holding `$(...)` or `"; ...` would run as code
(GitHub's hardening guide, "script injection"). Values reach scripts through
`env:` only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import CORPORA, ROOT

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
# Contexts an attacker can write (GitHub's list of untrusted input) and the Action's inputs.
UNTRUSTED = re.compile(r"\binputs\.|github\.(head_ref|base_ref|event\.)|\benv\.")


def _yaml_files() -> list[Path]:
    return [ROOT / "action.yml", *sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))]


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:  # a composite action
        return list(doc["runs"].get("steps", []))
    return [step for job in doc.get("jobs", {}).values() for step in job.get("steps", [])]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def run_script_expressions(path: Path) -> list[tuple[str, str]]:
    """(step name, expression) for every ${{ }} written inside a run: script of `path`."""
    found = []
    for step in _steps(_load(path)):
        script = step.get("run")
        if isinstance(script, str):
            found += [(step.get("name", script[:40]), expr) for expr in EXPRESSION.findall(script)]
    return found


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.name)
def test_no_expression_inside_run_scripts(path):
    assert run_script_expressions(path) == []


def test_the_check_sees_an_injected_input(tmp_path):
    """The check itself: the old Action's line is caught, and so is a head_ref."""
    bad = tmp_path / "action.yml"
    bad.write_text(
        "runs:\n  using: composite\n  steps:\n"
        "    - name: Scan\n      shell: bash\n      run: |\n        allocscan scan ${{ inputs.path }} -o x\n"
        "    - name: Ref\n      shell: bash\n      run: echo \"${{ github.head_ref }}\"\n")
    exprs = [e for _, e in run_script_expressions(bad)]
    assert exprs == ["inputs.path", "github.head_ref"]
    assert all(UNTRUSTED.search(e) for e in exprs)


def test_every_input_the_action_reads_is_declared_and_reaches_a_script_through_env():
    action = _load(ROOT / "action.yml")
    declared = set(action["inputs"])
    used = set()
    for step in _steps(action):
        for value in (step.get("env") or {}).values():
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
    for step in _steps(action):
        for key in ("with", "if"):
            used |= set(re.findall(r"inputs\.([\w-]+)", str(step.get(key, ""))))
    assert used <= declared, used - declared
    assert {"path", "min-order", "fail-on", "category", "diff-base", "kconfig", "cache"} <= used


def test_the_action_keeps_the_facts_cache_keyed_by_the_analyzer():
    steps = _steps(_load(ROOT / "action.yml"))
    cache = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    assert len(cache) == 1
    key_step = next(s for s in steps if s.get("id") == "cache-key")
    assert "allocscan cache-key" in key_step["run"]
    assert "steps.cache-key.outputs.key" in cache[0]["with"]["key"]
    assert cache[0]["with"]["path"] == "${{ steps.cache-key.outputs.dir }}"
    scan = next(s for s in steps if s.get("id") == "scan")
    assert scan["env"]["CACHE_DIR"] == "${{ steps.cache-key.outputs.dir }}"
    assert "--cache-dir" in scan["run"]


def test_the_example_workflow_uses_the_action():
    steps = _steps(_load(ROOT / ".github" / "workflows" / "code-scanning.yml"))
    assert any(s.get("uses") == "./" for s in steps)


# --- the Action's scripts, run as GitHub would run them -------------------------

def _expand_env(env: dict, inputs: dict, outputs: dict) -> dict:
    """What GitHub puts in a step's environment: its env: block with the
    expressions evaluated (inputs.X and steps.S.outputs.Y are all this Action reads)."""

    def value(match):
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs."):]]
        if expr.startswith("steps."):
            return outputs.get(expr, "")
        raise AssertionError(f"unexpected expression in env: {expr}")

    return {k: EXPRESSION.sub(value, str(v)) for k, v in env.items()}


def _run_step(step: dict, inputs: dict, outputs: dict, cwd: Path, tmp_path: Path) -> tuple[int, dict]:
    out_file = tmp_path / f"github-output-{step.get('id', 'x')}"
    out_file.write_text("")
    env = dict(os.environ, GITHUB_OUTPUT=str(out_file), RUNNER_OS="Linux", RUNNER_TEMP=str(tmp_path / "runner"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               XDG_CACHE_HOME=str(tmp_path / "xdg"))
    env.update(_expand_env(step.get("env") or {}, inputs, outputs))
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    written = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
    return proc.returncode, written


def _action_inputs(**overrides) -> dict:
    action = _load(ROOT / "action.yml")
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update(overrides)
    return inputs


def test_the_scan_script_takes_several_paths_and_fills_the_cache(tmp_path):
    if not Path(sys.executable).with_name("allocscan").exists():
        pytest.skip("allocscan's console script is not installed beside this Python")
    steps = {s.get("id"): s for s in _steps(_load(ROOT / "action.yml"))}
    inputs = _action_inputs(path=f"{CORPORA / 'net_irq'} {CORPORA / 'usb_gadget'}", **{"fail-on": "warning"})
    code, outputs = _run_step(steps["cache-key"], inputs, {}, tmp_path, tmp_path)
    assert code == 0
    from allocscan.cache import analyzer_key

    assert outputs["key"] == f"allocscan-facts-Linux-{analyzer_key()}"
    step_outputs = {f"steps.cache-key.outputs.{k}": v for k, v in outputs.items()}
    code, outputs = _run_step(steps["scan"], inputs, step_outputs, tmp_path, tmp_path)
    assert code == 0 and outputs["status"] == "1"  # findings, fail-on applied later
    import json

    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads((tmp_path / "allocscan.sarif").read_text())["runs"][0]["results"]}
    assert any("net_irq" in u for u in uris) and any("usb_gadget" in u for u in uris)
    assert list((tmp_path / "runner" / "allocscan-cache" / analyzer_key()).glob("*/*.pkl"))


def test_a_hostile_path_input_is_a_path_not_a_command(tmp_path):
    if not Path(sys.executable).with_name("allocscan").exists():
        pytest.skip("allocscan's console script is not installed beside this Python")
    steps = {s.get("id"): s for s in _steps(_load(ROOT / "action.yml"))}
    marker = tmp_path / "pwned"
    inputs = _action_inputs(path=f"$(touch {marker}) `touch {marker}`;touch\t{marker}", cache="false",
                            category='x"; touch ' + str(marker) + '; echo "')
    code, outputs = _run_step(steps["scan"], inputs, {}, tmp_path, tmp_path)
    assert not marker.exists()
    assert code == 2 and outputs["status"] == "2"  # allocscan: no such file or directory
