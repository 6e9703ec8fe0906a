"""Command line: `allocscan scan PATH...` and `allocscan rules`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or input
error. Every input problem is one line on stderr naming the input; never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from . import __version__
from .cache import CacheChangedError, default_cache_dir
from .config import ConfigError, load_config
from .discover import DiscoverError
from .kernel.kconfig import KconfigError, load_kconfig
from .scope import ScopeError
from .kernel.gfp import BUILTIN_VERSIONS
from .extract.driver import default_jobs
from .rules import RULES, by_id
from .rules.base import LEVEL_RANK, doc_sections

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default is also 2, with usage)
        self.print_usage(sys.stderr)
        print(f"allocscan: error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="allocscan", description="Static analyzer for Linux kernel driver allocation sites.")
    parser.add_argument("--version", action="version", version=f"allocscan {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    scan = sub.add_parser("scan", help="scan a kernel tree, a subdirectory or files")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.add_argument("--format", choices=("text", "json", "sarif", "html"), default="text")
    scan.add_argument("-o", "--output", metavar="FILE",
                      help="write the report here instead of stdout (--format html: a directory)")
    scan.add_argument("--jobs", "-j", type=int, default=None, help="parallel extraction processes (default: all cores)")
    scan.add_argument("--min-order", type=int, default=None,
                      help="lowest page order AS001 reports (default 4: above PAGE_ALLOC_COSTLY_ORDER)")
    scan.add_argument("--fail-on", choices=("error", "warning", "note", "none"), default=None,
                      help="exit 1 when a finding is at or above this level (default: warning)")
    scan.add_argument("--config", metavar="FILE", help="allocscan.toml or pyproject.toml with [tool.allocscan]")
    scan.add_argument("--cache-dir", metavar="DIR", help="facts cache (default: $XDG_CACHE_HOME/allocscan)")
    scan.add_argument("--no-cache", action="store_true", help="do not read or write the facts cache")
    scan.add_argument("--stats", action="store_true", help="print extraction and timing statistics to stderr")
    scan.add_argument("--exclude", action="append", default=[], metavar="PATH", help="skip a path or glob (repeatable)")
    scan.add_argument("--select", action="append", default=None, metavar="PREFIX", help="only rules with this id prefix")
    scan.add_argument("--ignore", action="append", default=None, metavar="PREFIX", help="skip rules with this id prefix")
    scan.add_argument("--kernel-version", metavar="V",
                      help=f"use the built-in tables of this version ({', '.join(BUILTIN_VERSIONS)}) instead of the tree's headers")
    scan.add_argument("--no-signature", action="store_true", help="text output: do not print runtime signatures")
    scan.add_argument("--category", default="allocscan/", help="SARIF automationDetails.id (code-scanning category)")
    scan.add_argument("--baseline", metavar="OLD.sarif", help="mark findings new/unchanged/updated/absent against an earlier SARIF log")
    scan.add_argument("--new-only", action="store_true", help="with --baseline: report only new findings")
    scan.add_argument("--kconfig", metavar="FILE",
                      help="a kernel .config: scan only the files Kbuild builds with it and the #if branches it compiles")
    scan.add_argument("--compile-commands", metavar="FILE",
                      help="compile_commands.json: scan the C files it lists (and the headers beside them)")

    diff = sub.add_parser("diff", help="findings a change introduces (git revisions or a patch)")
    diff.add_argument("paths", nargs="*", metavar="PATH", help="limit the scan to these paths (default: the whole checkout)")
    diff.add_argument("--base", default=None, help="base revision (default: HEAD)")
    diff.add_argument("--head", default=None, help="head revision (default: the working tree)")
    diff.add_argument("--staged", action="store_true", help="head is the index: what `git commit` would record")
    diff.add_argument("--patch", metavar="FILE", help="a patch or mbox to apply to --tree's HEAD (in a temporary index)")
    diff.add_argument("--tree", metavar="PATH", default=".", help="the git checkout (default: .)")
    diff.add_argument("--show-fixed", action="store_true", help="also list the findings the change fixes")
    diff.add_argument("--format", choices=("text", "json", "sarif", "github", "html"), default="text")
    diff.add_argument("-o", "--output", metavar="FILE", help="--format html: the report's directory")
    diff.add_argument("--fail-on", choices=("error", "warning", "note", "none"), default="warning")
    diff.add_argument("--min-order", type=int, default=4)
    diff.add_argument("--jobs", "-j", type=int, default=None)
    diff.add_argument("--cache-dir", metavar="DIR")
    diff.add_argument("--no-cache", action="store_true")
    diff.add_argument("--kernel-version", metavar="V")
    diff.add_argument("--category", default="allocscan/")
    diff.add_argument("--stats", action="store_true", help="print each side's timings to stderr")

    explain = sub.add_parser("explain", help="explain a dmesg allocation failure or atomic-sleep report")
    explain.add_argument("logs", nargs="+", metavar="LOG", help="log files, or - for standard input")
    explain.add_argument("--tree", metavar="PATH", help="kernel tree: map the call trace to the source line")
    explain.add_argument("--format", choices=("text", "json", "html"), default="text")
    explain.add_argument("-o", "--output", metavar="DIR", help="--format html: the report's directory")
    explain.add_argument("--kernel-version", metavar="V",
                         help="decode the mode with this version's GFP bits (default: the report's kernel; "
                              "without one, the built-in version whose bits give the printed names)")
    explain.add_argument("--jobs", "-j", type=int, default=None)
    explain.add_argument("--cache-dir", metavar="DIR")

    sub.add_parser("cache-key", help="print the facts cache's analyzer key (for CI caches such as actions/cache)")

    rules = sub.add_parser("rules", help="list the rules with their documentation")
    rules.add_argument("rule", nargs="?", help="show one rule's full documentation")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run_command(parser, args)
    except CacheChangedError as err:  # read on demand, so it can surface in any stage
        print(f"allocscan: {err}", file=sys.stderr)
        return EXIT_ERROR


def _run_command(parser, args) -> int:
    if args.command == "scan":
        return cmd_scan(args)
    if args.command == "rules":
        return cmd_rules(args)
    if args.command == "explain":
        return cmd_explain(args)
    if args.command == "diff":
        return cmd_diff(args)
    if args.command == "cache-key":
        return cmd_cache_key(args)
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def cmd_explain(args) -> int:
    from .explain import LogError, explain_text, number_reports, render_json, render_text
    from .explain.source import map_to_source

    if args.format == "html" and not args.output:
        print("allocscan: --format html writes a directory: give it with -o DIR", file=sys.stderr)
        return EXIT_ERROR
    diagnoses = []
    texts: list[str] = []  # the logs read, for the HTML charts' buddy lines
    for name in args.logs:
        try:
            if name == "-":
                text = sys.stdin.read()
                label = "<stdin>"
            else:
                data = Path(name).read_bytes()
                if b"\0" in data[:4096]:
                    raise LogError(f"{name}: binary file, not a kernel log")
                text = data.decode("utf-8", errors="replace")
                label = name
            diagnoses.extend(explain_text(text, label, args.kernel_version))
            texts.append(text)
        except FileNotFoundError:
            print(f"allocscan: {name}: no such file", file=sys.stderr)
            return EXIT_ERROR
        except OSError as err:
            print(f"allocscan: {name}: cannot read ({err.strerror})", file=sys.stderr)
            return EXIT_ERROR
        except LogError as err:
            print(f"allocscan: {err}", file=sys.stderr)
            return EXIT_ERROR
    number_reports(diagnoses)
    if args.tree:
        tree = Path(args.tree)
        if not tree.is_dir():
            print(f"allocscan: {args.tree}: not a directory", file=sys.stderr)
            return EXIT_ERROR
        cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
        for d in diagnoses:
            map_to_source(d, tree, args.jobs or default_jobs(), cache)
    if args.format == "html":
        from .explain.logparse import parse_log
        from .report.explain_html import write_explain_report
        from .report.html import HtmlReportError

        reports = [r for text in texts for r in parse_log(text)]
        try:
            write_explain_report(Path(args.output), diagnoses, reports, list(args.logs))
        except HtmlReportError as err:
            print(f"allocscan: {err}", file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK
    sys.stdout.write(render_json(diagnoses) if args.format == "json" else render_text(diagnoses))
    return EXIT_OK


def cmd_diff(args) -> int:
    from .diff import DiffError, diff_patch, diff_revisions
    from .report.jsonout import finding_dict
    from .report.review import render_github, render_review
    from .report.sarif import render_sarif
    from .pipeline import ScanOptions

    options = ScanOptions(
        min_order=args.min_order, jobs=args.jobs or default_jobs(),
        cache_dir=None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        kernel_version=args.kernel_version, reuse_results=True)
    start = time.perf_counter()
    try:
        if args.patch:
            result = diff_patch(Path(args.tree), Path(args.patch), args.paths, options)
        else:
            result = diff_revisions(Path(args.tree), args.base or "HEAD", args.head, args.paths, options, args.staged)
    except (DiffError, DiscoverError) as err:
        print(f"allocscan: {err}", file=sys.stderr)
        return EXIT_ERROR
    for f in result.new:
        f.baseline_state = "new"
    for f in result.unchanged:
        f.baseline_state = "unchanged"
    if args.format == "json":
        import json

        text = json.dumps({"tool": "allocscan", "schemaVersion": 1, "new": [finding_dict(f) for f in result.new],
                           "fixed": [finding_dict(f) for f in result.fixed] if args.show_fixed else [],
                           "unchanged": len(result.unchanged)}, indent=2) + "\n"
    elif args.format == "sarif":
        absent = []
        if args.show_fixed:
            from .report.sarif import build_sarif

            absent = build_sarif(result.fixed, [])["runs"][0]["results"]
            for r in absent:
                r["baselineState"] = "absent"
        text = render_sarif(result.new + result.unchanged, result.head.warnings, args.category, absent)
    elif args.format == "github":
        text = render_github(result.new)
    elif args.format == "html":
        if not args.output:
            print("allocscan: --format html writes a directory: give it with -o DIR", file=sys.stderr)
            return EXIT_ERROR
        from .report.html import HtmlReportError, diff_info, revision_reader, write_report

        shown = result.new + (result.fixed if args.show_fixed else [])
        for f in result.fixed:
            f.baseline_state = "fixed"
        reader = revision_reader(Path(args.tree), result.head.discovery.root, result.head_revision, result.head_prefix)
        try:
            write_report(Path(args.output), shown, diff_info(result, args.base or "HEAD", args.head), reader)
        except HtmlReportError as err:
            print(f"allocscan: {err}", file=sys.stderr)
            return EXIT_ERROR
        text = None
    else:
        text = render_review(result.new, result.fixed, args.show_fixed)
    if text is not None and not _write_report(args.output, text):
        return EXIT_ERROR
    print(f"allocscan: {len(result.new)} new, {len(result.fixed)} fixed, {len(result.unchanged)} unchanged "
          f"finding(s) in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    for side, scanned in (("base", result.base), ("head", result.head)):
        if scanned.incremental:  # what the side analysed again (incremental.py)
            print(f"allocscan: {side} side: {scanned.incremental}", file=sys.stderr)
    if args.stats:
        for side, scanned in (("base", result.base), ("head", result.head)):
            print(f"allocscan: stats: {side} side: {_timings_text(scanned)}", file=sys.stderr)
    if args.fail_on == "none":
        return EXIT_OK
    threshold = LEVEL_RANK[args.fail_on]
    return EXIT_FINDINGS if any(LEVEL_RANK[f.level] >= threshold for f in result.new) else EXIT_OK


def _timings_text(result) -> str:
    """A side's files and stage times: `51782 files (51781 from cache); extract 9.1s, ...`
    (`reused` when its findings came whole from the results cache)."""
    s = result.stats
    stages = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in result.timings.items())
    return f"{s.files} files ({s.parsed} parsed, {s.cached} from cache); {stages}"


def cmd_cache_key(args) -> int:
    """The analyzer key: the name of the cache's subdirectory that this version of
    allocscan reads and writes. A CI cache keyed by it is never restored into a
    version whose facts would differ (and so never carries entries it cannot use)."""
    from .cache import analyzer_key

    print(analyzer_key())
    return EXIT_OK


def cmd_rules(args) -> int:
    rules = RULES
    if args.rule:
        rule = by_id().get(args.rule.upper())
        if rule is None:
            print(f"allocscan: unknown rule {args.rule}", file=sys.stderr)
            return EXIT_ERROR
        rules = (rule,)
    for rule in rules:
        sections = doc_sections(rule.__doc__)
        print(f"{rule.ID} {rule.NAME} [{rule.LEVEL}]")
        print(f"  {sections.get('summary', '')}")
        if args.rule:
            for name, body in sections.items():
                if name != "summary":
                    print(f"\n## {name}\n{body}")
        else:
            what = sections.get("What it does", "").replace("\n", " ")
            print(f"  {what}\n")
    return EXIT_OK


def _progress_factory(enabled: bool):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def factory(total: int):
        with Progress(TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True) as progress:
            task = progress.add_task("extract", total=total)
            yield lambda n: progress.advance(task, n)

    return factory


def cmd_scan(args) -> int:
    from .report.jsonout import render_json
    from .report.sarif import render_sarif
    from .report.text import render_text
    from .pipeline import ScanOptions, run_scan

    try:
        settings, _ = load_config(args.config, args.paths)
    except ConfigError as err:
        print(f"allocscan: {err}", file=sys.stderr)
        return EXIT_ERROR
    jobs = args.jobs if args.jobs is not None else settings.get("jobs", default_jobs())
    if jobs < 1:
        print("allocscan: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    options = ScanOptions(
        min_order=args.min_order if args.min_order is not None else settings.get("min-order", 4),
        jobs=jobs,
        cache_dir=None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        excludes=tuple(settings.get("exclude", ())) + tuple(args.exclude),
        kernel_version=args.kernel_version or settings.get("kernel-version"),
        select=args.select or settings.get("select"),
        ignore=args.ignore or settings.get("ignore"),
    )
    fail_on = args.fail_on or settings.get("fail-on", "warning")
    if args.format == "html" and not args.output:
        print("allocscan: --format html writes a directory: give it with -o DIR", file=sys.stderr)
        return EXIT_ERROR
    start = time.perf_counter()
    try:
        if args.kconfig:
            options.kconfig = load_kconfig(args.kconfig)
        if args.compile_commands:
            options.compile_commands = Path(args.compile_commands)
        # A whole git checkout scanned before (with the cache): only the change's cone
        from .diff import checkout_scan_previous, scan_checkout
        try:
            from_stored = checkout_scan_previous(args.paths) if options.cache_dir is not None else None
        except OSError:  # git could not be run: the scan analyses everything
            from_stored = None
        progress = _progress_factory(sys.stderr.isatty())
        if from_stored is not None:
            result = scan_checkout(Path(args.paths[0]), options, from_stored, progress)
        else:
            result = run_scan(args.paths, options, progress, from_stored=from_stored)
    except (DiscoverError, KconfigError, ScopeError) as err:
        print(f"allocscan: {err}", file=sys.stderr)
        return EXIT_ERROR
    for warning in result.warnings:
        print(f"allocscan: warning: {warning}", file=sys.stderr)
    if result.incremental:  # started from a kept scan of the checkout (incremental.py)
        print(f"allocscan: analysed again: {result.incremental}", file=sys.stderr)
    if not result.discovery.files:
        print(f"allocscan: {', '.join(args.paths)}: no C source files to scan", file=sys.stderr)
        return EXIT_ERROR
    if result.stats.files and result.stats.skipped == result.stats.files:
        print("allocscan: no file could be read as C source", file=sys.stderr)
        return EXIT_ERROR

    findings = result.findings
    kernel = result.discovery.kernel
    absent: list[dict] = []
    if args.baseline:
        from .report.baseline import BaselineError, apply_baseline, load_baseline

        try:
            absent = apply_baseline(findings, load_baseline(args.baseline))
        except BaselineError as err:
            print(f"allocscan: {err}", file=sys.stderr)
            return EXIT_ERROR
        if args.new_only:
            findings = [f for f in findings if f.baseline_state == "new"]
            absent = []
    if args.format == "json":
        stats = dict(vars(result.stats), timings=result.timings, suppressed=len(result.suppressed),
                     analysis=dict(result.analysis.stats) if result.analysis is not None else {})
        if result.scope is not None:
            stats["scope"] = result.scope.stats
        text = render_json(findings, kernel.release, str(result.discovery.root), result.warnings, stats)
    elif args.format == "sarif":
        text = render_sarif(findings, result.warnings, args.category, absent)
    elif args.format == "html":
        from .report.html import HtmlReportError, scan_info, source_reader, write_report

        info = scan_info(findings, str(result.discovery.root), kernel.release, result.stats.files,
                         len(result.warnings), result.scope.stats if result.scope is not None else None)
        try:
            write_report(Path(args.output), findings, info, source_reader(result.discovery.root))
        except HtmlReportError as err:
            print(f"allocscan: {err}", file=sys.stderr)
            return EXIT_ERROR
        text = None
    else:
        text = render_text(findings, show_signature=not args.no_signature)
    return _emit(args, text, findings, fail_on, result, start, kernel)


def _write_report(output: str | None, text: str) -> bool:
    """Write to -o FILE or stdout; False (after one error line) when the file cannot be written."""
    if not output:
        sys.stdout.write(text)
        return True
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"allocscan: {output}: cannot write ({err.strerror})", file=sys.stderr)
        return False
    return True


def _emit(args, text, findings, fail_on, result, start, kernel) -> int:
    from .report.text import summary_line

    if text is not None and not _write_report(args.output, text):
        return EXIT_ERROR
    seconds = time.perf_counter() - start
    print(summary_line(findings, result.stats.files, seconds), file=sys.stderr)
    if args.stats:
        s = result.stats
        print(f"allocscan: stats: {s.files} files ({s.parsed} parsed, {s.cached} from cache, {s.skipped} skipped); "
              f"{s.files_with_errors} files and {s.functions_with_errors} of {s.functions} functions hold parse errors; "
              f"{s.files_in_pieces} files parsed in pieces, {s.bodies_unparsed} function bodies not parsed; "
              f"{s.calls} calls; kernel {kernel.release} ({'tree' if kernel.from_tree else 'built-in tables'}); "
              + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
              + "".join(f"; {k} {v}" for k, v in (result.analysis.stats if result.analysis is not None else {}).items()),
              file=sys.stderr)
        if result.scope is not None:
            from .scope import scope_summary

            print(f"allocscan: scope: {scope_summary(result.scope.stats)}", file=sys.stderr)
    if fail_on == "none":
        return EXIT_OK
    threshold = LEVEL_RANK[fail_on]
    return EXIT_FINDINGS if any(LEVEL_RANK[f.level] >= threshold for f in findings) else EXIT_OK


def run() -> None:
    """Console entry point: run, flush, and leave without tearing down the heap.

    A whole-tree scan holds millions of small objects; freeing them one by one
    at exit takes longer than some whole scans of a subdirectory.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
