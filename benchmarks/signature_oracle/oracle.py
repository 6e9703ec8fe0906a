#!/usr/bin/env python3
"""Signature oracle: prove allocscan's runtime signatures against a real kernel.

    oracle.py run --tree /path/to/linux --variant voluntary [--fixture-dir tests/data/oracle]
    oracle.py check --fixture tests/data/oracle/6.1.176-voluntary [--tree /path/to/linux] [--label L]
    oracle.py summary LABEL...

`run` builds a small kernel from TREE (tinyconfig + config/base.config +
config/VARIANT.config, with `make O=` under --work: the tree is never written),
builds the test modules in modules/ against it, boots it under QEMU with a
busybox initramfs whose init loads each case between marker lines, captures
the serial console, runs `allocscan scan` on the same module sources placed
inside a hard-link copy of TREE (so the scan reads that tree's version and
headers), and compares each case's report with the prediction (compare.py).
`--fixture-dir` saves the console log and the facts the prediction needs as a
test fixture. `check` redoes only the prediction and the comparison for a
saved fixture: no build, no boot.

Results go to WORK/results/<release>-<variant>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402
import kbuild  # noqa: E402

CASES_SUBDIR = "drivers/allocscan_oracle"


def read_release(tree: Path) -> str:
    sys.path.insert(0, str(REPO / "src"))
    from allocscan.kernel.version import read_release as _read

    release = _read(tree)
    if not release:
        raise SystemExit(f"signature_oracle: {tree}: not a kernel tree (no VERSION in its Makefile)")
    return release


def allocscan_argv() -> list[str]:
    """This checkout's allocscan; ORACLE_ALLOCSCAN_SRC=DIR runs another one's src/ (a before/after)."""
    other = os.environ.get("ORACLE_ALLOCSCAN_SRC")
    if other:
        return ["env", f"PYTHONPATH={other}", sys.executable, "-m", "allocscan"]
    venv = REPO / ".venv/bin/allocscan"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "allocscan"]


def config_options(config_text: str) -> dict[str, str]:
    """CONFIG_X=y lines of a .config, as {X: value}."""
    out = {}
    for line in config_text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key[len("CONFIG_"):]] = value
    return out


def predict(tree: Path | None, release: str, kernel_config: Path, work: Path, timings: kbuild.Timings) -> dict:
    """allocscan's findings on the case modules, as JSON.

    With a tree, the modules are scanned inside a hard-link copy of it (new
    files in a new directory: the linked files are only read); without one,
    as loose files with --kernel-version RELEASE (built-in tables).
    """
    if tree is not None:
        copy = work / "trees" / release
        if not (copy / "Makefile").exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-al", str(tree), str(copy)], check=True)
        target = copy / CASES_SUBDIR
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for src in kbuild.MODULE_DIR.iterdir():
            if src.suffix in (".c", ".h"):
                shutil.copy(src, target / src.name)
        argv = allocscan_argv() + ["scan", str(target)]
    else:
        argv = allocscan_argv() + ["scan", str(kbuild.MODULE_DIR), "--kernel-version", release]
    out = work / "results" / f"prediction-{release}-{kernel_config.parent.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv += ["--format", "json", "-o", str(out), "--fail-on", "none", "--no-cache"]
    if "--kernel-config" in subprocess.run(allocscan_argv() + ["scan", "--help"], capture_output=True, text=True).stdout:
        argv += ["--kernel-config", str(kernel_config)]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    timings.steps.append(kbuild.Step("allocscan scan", " ".join(argv), time.monotonic() - start))
    if proc.returncode not in (0, 1):
        raise SystemExit(f"signature_oracle: allocscan scan failed: {proc.stderr.strip()}")
    return json.loads(out.read_text())


def config_names(config_text: str) -> set[str]:
    """The names of allocscan's signature configs (signatures.toml) that hold for this .config."""
    sys.path.insert(0, str(REPO / "src"))
    from allocscan.kernel.tables import signature_tables

    preempt_rcu = config_options(config_text).get("PREEMPT_RCU") == "y"
    return {c.name for c in signature_tables().configs if c.preempt_rcu == preempt_rcu}


def signatures_by_case(report: dict, configs: set[str]) -> dict[str, list[list[str]]]:
    """Each case's predicted texts under the kernel's config (the finding in oracle_<case>.c).

    A finding carries one text per config and run-time case in runtimeSignatureVariants;
    an allocscan without them (before this harness) has one runtimeSignature."""
    out: dict[str, list[list[str]]] = {}
    for finding in report.get("findings", []):
        name = Path(finding["path"]).stem
        if not name.startswith("oracle_") or finding["path"].endswith(".h"):
            continue
        case = name[len("oracle_"):]
        props = finding.get("properties", {})
        variants = props.get("runtimeSignatureVariants")
        if variants:
            texts = [v["lines"] for v in variants if v["config"] in configs]
        else:
            texts = [props.get("runtimeSignature", "").split("\n")]
        if case in out:
            raise SystemExit(f"signature_oracle: two findings for case {case}: {finding['path']}:{finding['line']}")
        out[case] = texts
    return out


def compare_all(console: str, predicted: dict[str, list[list[str]]]) -> list[compare.CaseResult]:
    blocks = compare.case_blocks(console)
    results = []
    for case in kbuild.case_names():
        if case not in blocks:
            results.append(compare.CaseResult(case, False, None, None, ["no block for this case in the log"]))
            continue
        results.append(compare.compare_case(case, blocks[case], predicted.get(case)))
    return results


def write_results(results: list[compare.CaseResult], label: str, timings: kbuild.Timings, work: Path) -> Path:
    out = work / "results"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in results:
        rows.append({
            "case": r.case, "match": r.match, "problems": r.problems,
            "real_header": r.real.header if r.real else None,
            "real_frames": r.real.frames if r.real else None,
            "predicted_header": r.predicted.header if r.predicted else None,
            "predicted_frames": r.predicted.frames if r.predicted else None,
            "predicted_silent": r.predicted.silent if r.predicted else None,
        })
    data = {"label": label, "matching": sum(r.match for r in results), "cases": len(results), "results": rows,
            "steps": [s.__dict__ for s in timings.steps]}
    (out / f"{label}.json").write_text(json.dumps(data, indent=1) + "\n")
    md = [f"# signature oracle: {label}", "", f"{data['matching']} of {data['cases']} cases match.", ""]
    for row in rows:
        md.append(f"## {row['case']}: {'match' if row['match'] else 'MISMATCH'}")
        md.append("real:")
        md += [f"    {x}" for x in (row["real_header"] or ["(no report)"])]
        md += [f"      {x}" for x in (row["real_frames"] or [])[:12]]
        md.append("predicted:")
        md += [f"    {x}" for x in (row["predicted_header"] or ["(silent)" if row["predicted_silent"] else "(nothing)"])]
        md += [f"      {x}" for x in (row["predicted_frames"] or [])]
        md += [f"  - {p}" for p in row["problems"]]
        md.append("")
    md.append("## steps")
    md += [f"- {s.name}: {s.seconds:.0f} s{' (skipped: up to date)' if s.skipped else ''}: `{s.command}`"
           for s in timings.steps]
    path = out / f"{label}.md"
    path.write_text("\n".join(md) + "\n")
    return path


def save_fixture(fixture_dir: Path, label: str, console: str, release: str, variant: str, config_text: str,
                 tree: Path) -> None:
    """The console log's case region, the config options that decide the text, and the tree's facts."""
    sys.path.insert(0, str(REPO / "src"))
    from allocscan.kernel.version import kernel_from_tree

    dest = fixture_dir / label
    dest.mkdir(parents=True, exist_ok=True)
    lines = console.splitlines()
    first = next(i for i, line in enumerate(lines) if compare.BEGIN in line)
    banner = [line for line in lines[:first] if "Linux version" in line][:1]
    (dest / "console.log").write_text("\n".join(banner + lines[first:]) + "\n")
    keep = ("PREEMPT_VOLUNTARY", "PREEMPT_DYNAMIC", "PREEMPT_RCU", "PREEMPT_COUNT", "PREEMPTION", "DEBUG_ATOMIC_SLEEP",
            "SMP", "SLUB", "CPUSETS", "UNWINDER_ORC", "CC_OPTIMIZE_FOR_PERFORMANCE", "LOCKDEP", "DEBUG_PREEMPT",
            "TRACE_IRQFLAGS", "HIGH_RES_TIMERS")
    options = config_options(config_text)
    (dest / "kernel.config").write_text(
        "# The options of the oracle's kernel that decide a signature's text (from its .config).\n"
        + "".join(f"CONFIG_{k}={options[k]}\n" if k in options else f"# CONFIG_{k} is not set\n" for k in keep))
    kernel = kernel_from_tree(tree)
    facts = {"release": release, "variant": variant, "might_sleep_at": kernel.might_sleep_at,
             "order_warn_at": kernel.order_warn_at, "order_warn_function": kernel.order_warn_function,
             "max_order": kernel.max_order}
    (dest / "kernel.json").write_text(json.dumps(facts, indent=1) + "\n")


def cmd_run(args) -> int:
    tree = Path(args.tree).resolve()
    release = read_release(tree)
    label = f"{release}-{args.variant}"
    work = Path(args.work).resolve()
    timings = kbuild.Timings()
    outdir = work / "build" / f"{tree.name.replace('linux-source-', '')}-{args.variant}"
    image = kbuild.build_kernel(tree, args.variant, outdir, timings, args.jobs)
    kos = kbuild.build_modules(outdir, work / "mods" / label, timings)
    initramfs = kbuild.make_initramfs(kos, work / "mods" / label, timings)
    console_log = work / "results" / f"{label}.console.log"
    console_log.parent.mkdir(parents=True, exist_ok=True)
    kbuild.boot(image, initramfs, console_log, timings)
    console = console_log.read_text(errors="replace")
    report = predict(tree, release, outdir / ".config", work, timings)
    results = compare_all(console, signatures_by_case(report, config_names((outdir / ".config").read_text())))
    md = write_results(results, label, timings, work)
    if args.fixture_dir:
        save_fixture(Path(args.fixture_dir), label, console, release, args.variant,
                     (outdir / ".config").read_text(), tree)
    print(f"{label}: {sum(r.match for r in results)} of {len(results)} cases match; {md}")
    return 0 if all(r.match for r in results) else 1


def cmd_check(args) -> int:
    fixture = Path(args.fixture).resolve()
    facts = json.loads((fixture / "kernel.json").read_text())
    work = Path(args.work).resolve()
    timings = kbuild.Timings()
    tree = Path(args.tree).resolve() if args.tree else None
    report = predict(tree, facts["release"], fixture / "kernel.config", work, timings)
    console = (fixture / "console.log").read_text()
    configs = config_names((fixture / "kernel.config").read_text())
    results = compare_all(console, signatures_by_case(report, configs))
    label = fixture.name
    md = write_results(results, args.label or f"check-{label}", timings, work)
    print(f"{label}: {sum(r.match for r in results)} of {len(results)} cases match; {md}")
    return 0 if all(r.match for r in results) else 1


def cmd_summary(args) -> int:
    """One table over several results (WORK/results/<label>.json): match or not per case."""
    results = {}
    for label in args.labels:
        data = json.loads((Path(args.work) / "results" / f"{label}.json").read_text())
        results[label] = {row["case"]: row["match"] for row in data["results"]}
    cases = sorted({c for r in results.values() for c in r})
    print("| case | " + " | ".join(args.labels) + " |")
    print("| --- |" + " --- |" * len(args.labels))
    for case in cases:
        cells = ["match" if results[label].get(case) else "**no**" for label in args.labels]
        print(f"| {case} | " + " | ".join(cells) + " |")
    totals = [f"{sum(results[label].values())}/{len(results[label])}" for label in args.labels]
    print("| **matching** | " + " | ".join(totals) + " |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build, boot, predict, compare")
    run.add_argument("--tree", required=True)
    run.add_argument("--variant", choices=kbuild.VARIANTS, required=True)
    run.add_argument("--work", default="/var/tmp/as-runs/oracle")
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--fixture-dir", help="save the console log and kernel facts here (tests/data/oracle)")
    check = sub.add_parser("check", help="predict and compare against a saved fixture")
    check.add_argument("--fixture", required=True)
    check.add_argument("--tree", help="scan inside a copy of this tree instead of with built-in tables")
    check.add_argument("--work", default="/var/tmp/as-runs/oracle")
    check.add_argument("--label", help="name of the results (default check-<fixture>)")
    summary = sub.add_parser("summary", help="a match table over several results")
    summary.add_argument("labels", nargs="+", help="result labels, e.g. 6.1.176-voluntary check-6.1.176-voluntary")
    summary.add_argument("--work", default="/var/tmp/as-runs/oracle")
    args = parser.parse_args(argv)
    return {"run": cmd_run, "check": cmd_check, "summary": cmd_summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
