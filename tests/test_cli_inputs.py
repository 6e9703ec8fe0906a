"""Exit codes and bad input: one clear line naming the input, never a traceback."""

from __future__ import annotations

import json
import os
import sys

import pytest

from .conftest import CORPORA


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr


def test_findings_exit_1_and_fail_on_none(run_cli):
    proc = run_cli("scan", str(CORPORA / "net_irq"))
    assert proc.returncode == 1
    assert "[AS002 sleeping-allocation-in-atomic-context]" in proc.stdout
    assert "allocscan: " in proc.stderr and "finding" in proc.stderr
    assert run_cli("scan", str(CORPORA / "net_irq"), "--fail-on", "none").returncode == 0


def test_clean_file_exit_0(run_cli, tmp_path):
    src = tmp_path / "clean.c"
    src.write_text("int f(void) { return kmalloc(16, GFP_KERNEL) != 0; }\n")
    proc = run_cli("scan", str(src))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_missing_path(run_cli):
    proc = run_cli("scan", "/nonexistent/driver.c")
    assert proc.returncode == 2
    assert "/nonexistent/driver.c: no such file or directory" in proc.stderr
    _no_traceback(proc)


def test_empty_directory(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli("scan", str(tmp_path / "empty"))
    assert proc.returncode == 2
    assert "no C source files" in proc.stderr
    _no_traceback(proc)


def test_binary_file_is_skipped_with_warning(run_cli, tmp_path):
    d = tmp_path / "drv"
    d.mkdir()
    (d / "blob.c").write_bytes(b"\x7fELF\x00\x00\x01\x02")
    (d / "good.c").write_text("static void f(void) { spin_lock(&l); p = vmalloc(16); spin_unlock(&l); }\n")
    proc = run_cli("scan", str(d))
    assert proc.returncode == 1
    assert "blob.c: binary file" in proc.stderr
    assert "good.c:1:" in proc.stdout
    _no_traceback(proc)


def test_a_rejected_file_is_remembered_and_warned_again(run_cli, tmp_path):
    d = tmp_path / "drv"
    d.mkdir()
    (d / "blob.c").write_bytes(b"\x7fELF\x00\x00\x01\x02")
    (d / "good.c").write_text("int y;\n")
    cache = tmp_path / "cache"
    first = run_cli("scan", str(d), "--cache-dir", str(cache), "--stats", "--jobs", "1")
    second = run_cli("scan", str(d), "--cache-dir", str(cache), "--stats", "--jobs", "1")
    for proc in (first, second):
        assert "blob.c: binary file" in proc.stderr
        assert "1 skipped" in proc.stderr
    assert "(0 parsed, 1 from cache, 1 skipped)" in second.stderr


def test_non_utf8_file_is_read_as_latin1_with_a_warning(run_cli, tmp_path):
    d = tmp_path / "drv"
    d.mkdir()
    (d / "latin.c").write_bytes(b"/* caf\xe9 */\n"
                                b"static void f(void) { spin_lock(&l); p = vmalloc(16); spin_unlock(&l); }\n")
    (d / "ok.c").write_text("int y;\n")
    proc = run_cli("scan", str(d))
    assert proc.returncode == 1
    assert "latin.c:1: invalid UTF-8 (byte 0xe9); read as Latin-1" in proc.stderr
    assert "latin.c:2:" in proc.stdout
    _no_traceback(proc)


def test_only_bad_input_is_an_error(run_cli, tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_bytes(b"\xff\xfe\x00\x00")
    proc = run_cli("scan", str(bad))
    assert proc.returncode == 2
    assert "bad.c" in proc.stderr
    _no_traceback(proc)


def test_unparsable_file_still_scans_what_it_can(run_cli, tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("static void f(void) { spin_lock(&l); p = vmalloc(16); spin_unlock(&l); }\n"
                   "@@@ this is not C {{{ ]]] \n#if\n")
    proc = run_cli("scan", str(src), "--stats")
    assert proc.returncode == 1
    assert "broken.c:1:" in proc.stdout
    assert "hold parse errors" in proc.stderr
    _no_traceback(proc)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(run_cli, tmp_path):
    d = tmp_path / "drv"
    d.mkdir()
    f = d / "secret.c"
    f.write_text("int x;\n")
    f.chmod(0)
    (d / "ok.c").write_text("int y;\n")
    proc = run_cli("scan", str(d))
    assert "secret.c: cannot read" in proc.stderr
    _no_traceback(proc)


def test_unreadable_file_as_root_via_directory_entry(run_cli, tmp_path):
    # Root can read mode-0 files; a dangling symlink is unreadable for everyone.
    d = tmp_path / "drv"
    d.mkdir()
    (d / "gone.c").symlink_to(tmp_path / "missing-target.c")
    (d / "ok.c").write_text("int y;\n")
    proc = run_cli("scan", str(d))
    assert proc.returncode == 0
    assert "gone.c: cannot read" in proc.stderr
    _no_traceback(proc)


def test_bad_config(run_cli, tmp_path):
    cfg = tmp_path / "allocscan.toml"
    cfg.write_text("min-order = 'four'\n")
    proc = run_cli("scan", str(CORPORA / "net_irq"), "--config", str(cfg))
    assert proc.returncode == 2
    assert "allocscan.toml: 'min-order' must be a int" in proc.stderr
    cfg.write_text("this is = = not toml\n")
    proc = run_cli("scan", str(CORPORA / "net_irq"), "--config", str(cfg))
    assert proc.returncode == 2 and "invalid TOML" in proc.stderr
    cfg.write_text("colour = 'red'\n")
    proc = run_cli("scan", str(CORPORA / "net_irq"), "--config", str(cfg))
    assert proc.returncode == 2 and "unknown setting(s): colour" in proc.stderr
    _no_traceback(proc)


def test_config_file_sets_options(run_cli, tmp_path):
    cfg = tmp_path / "allocscan.toml"
    cfg.write_text("select = ['AS004']\nfail-on = 'error'\n")
    proc = run_cli("scan", str(CORPORA / "net_irq"), "--config", str(cfg), "--format", "json")
    doc = json.loads(proc.stdout)
    assert {f["ruleId"] for f in doc["findings"]} == {"AS004"}
    assert proc.returncode == 1


def test_min_order_option(run_cli):
    def orders(minimum: str) -> list[int]:
        proc = run_cli("scan", str(CORPORA / "chardev_params"), "--min-order", minimum, "--select", "AS001",
                       "--format", "json")
        return sorted(f["properties"]["maxOrder"] for f in json.loads(proc.stdout)["findings"])

    assert orders("6") == []
    assert orders("5") == [5, 5]
    assert orders("2") == [2, 4, 5, 5]


def test_rules_command(run_cli):
    proc = run_cli("rules")
    assert proc.returncode == 0
    for rid in ("AS001 high-order-atomic-allocation", "AS002", "AS003", "AS004"):
        assert rid in proc.stdout
    proc = run_cli("rules", "AS002")
    assert "## Why is this bad?" in proc.stdout


def test_cache_is_reused(run_cli, tmp_path):
    cache = tmp_path / "c"
    first = run_cli("scan", str(CORPORA / "net_irq"), "--cache-dir", str(cache), "--stats", "--jobs", "1")
    second = run_cli("scan", str(CORPORA / "net_irq"), "--cache-dir", str(cache), "--stats", "--jobs", "1")
    assert "0 from cache" in first.stderr
    assert "0 parsed" in second.stderr
    assert first.stdout == second.stdout


def test_suppression_comment(run_cli, tmp_path):
    src = tmp_path / "s.c"
    src.write_text("static void f(void)\n{\n\tspin_lock(&l);\n"
                   "\t/* allocscan: ignore AS002 -- freed before use, reviewed */\n"
                   "\tp = vmalloc(16);\n\tspin_unlock(&l);\n}\n")
    proc = run_cli("scan", str(src))
    assert proc.returncode == 0, proc.stdout


def test_parallel_extraction_matches_serial(run_cli):
    # --jobs 2 extracts in worker processes: the findings, witnesses included, are the serial ones.
    serial = run_cli("scan", str(CORPORA), "--jobs", "1", "--no-cache", "--format", "json")
    parallel = run_cli("scan", str(CORPORA), "--jobs", "2", "--no-cache", "--format", "json")
    findings = json.loads(serial.stdout)["findings"]
    assert any(f["witness"] for f in findings)
    assert findings == json.loads(parallel.stdout)["findings"]
