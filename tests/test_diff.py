"""Diff mode and baselines on throw-away git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import git

BASE_DRIVER = """// a small driver
#include <linux/slab.h>

struct demo { spinlock_t lock; void *buf; void *tbl; };

static void demo_fill(struct demo *d)
{
	unsigned long flags;

	spin_lock_irqsave(&d->lock, flags);
	d->buf = vmalloc(4096);
	spin_unlock_irqrestore(&d->lock, flags);
}

static int demo_open(struct demo *d)
{
	d->tbl = kzalloc(128, GFP_KERNEL);
	return 0;
}
"""


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "demo.c").write_text(BASE_DRIVER)
    git(r, "add", "demo.c")
    git(r, "commit", "-q", "-m", "base")
    return r


def commit(repo: Path, text: str, message: str) -> None:
    (repo / "demo.c").write_text(text)
    git(repo, "commit", "-q", "-am", message)


def test_new_as002_under_spinlock_exits_1(repo, run_cli):
    head = BASE_DRIVER.replace("\td->tbl = kzalloc(128, GFP_KERNEL);",
                               "\tspin_lock(&d->lock);\n\td->tbl = kzalloc(128, GFP_KERNEL);\n\tspin_unlock(&d->lock);")
    commit(repo, head, "add a lock")
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "demo.c:18:" in proc.stdout and "[AS002 sleeping-allocation-in-atomic-context]" in proc.stdout
    assert "vmalloc" not in proc.stdout.split("How it gets there")[0]  # the old finding is not new
    assert "1 new, 0 fixed, 1 unchanged" in proc.stderr


def test_stats_give_each_sides_stage_times(repo, run_cli):
    commit(repo, "/* a comment */\n" + BASE_DRIVER, "comment")
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--stats")
    assert proc.returncode == 0, proc.stderr
    base, head = [line for line in proc.stderr.splitlines() if line.startswith("allocscan: stats: ")]
    assert base.startswith("allocscan: stats: base side: 1 files") and " total " in base
    assert head.startswith("allocscan: stats: head side: 1 files") and " analyze " in head


def test_pure_line_shift_is_not_new(repo, run_cli):
    commit(repo, "/* license\n * header\n */\n\n" + BASE_DRIVER, "move lines")
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "adds no allocation finding" in proc.stdout


def test_fix_is_listed_with_show_fixed(repo, run_cli):
    commit(repo, BASE_DRIVER.replace("vmalloc(4096)", "kmalloc(4096, GFP_ATOMIC)"), "fix")
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--show-fixed")
    assert proc.returncode == 0
    assert "Fixed by this change (1)" in proc.stdout and "vmalloc" in proc.stdout


def test_working_tree_against_head(repo, run_cli):
    (repo / "demo.c").write_text(BASE_DRIVER.replace("kzalloc(128, GFP_KERNEL)", "kzalloc(8 << 20, GFP_KERNEL)"))
    proc = run_cli("diff", "--tree", str(repo), "--format", "github")
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=demo.c,line=17,")
    assert git(repo, "status", "--porcelain").strip() == "M demo.c"  # the user's tree is untouched


def test_patch_file_is_applied_in_a_temporary_worktree(repo, run_cli, tmp_path):
    changed = BASE_DRIVER.replace("\td->tbl = kzalloc(128, GFP_KERNEL);",
                                  "\tspin_lock(&d->lock);\n\td->tbl = kzalloc(128, GFP_KERNEL);\n\tspin_unlock(&d->lock);")
    (repo / "demo.c").write_text(changed)
    git(repo, "commit", "-q", "-am", "demo: take the lock")
    patch = tmp_path / "0001-demo.patch"
    patch.write_text(git(repo, "format-patch", "-1", "--stdout"))
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    proc = run_cli("diff", "--tree", str(repo), "--patch", str(patch), "--format", "sarif")
    assert proc.returncode == 1, proc.stderr
    results = json.loads(proc.stdout)["runs"][0]["results"]
    states = sorted((r["ruleId"], r["baselineState"]) for r in results)
    assert states == [("AS002", "new"), ("AS002", "unchanged")]
    assert (repo / "demo.c").read_text() == BASE_DRIVER
    bad = tmp_path / "bad.patch"
    bad.write_text("this is not a patch\n")
    proc = run_cli("diff", "--tree", str(repo), "--patch", str(bad))
    assert proc.returncode == 2 and "bad.patch: not a patch" in proc.stderr


def test_not_a_git_checkout(run_cli, tmp_path):
    proc = run_cli("diff", "--tree", str(tmp_path))
    assert proc.returncode == 2 and "not inside a git checkout" in proc.stderr


def test_scan_baseline_states(repo, run_cli, tmp_path):
    old = tmp_path / "old.sarif"
    run_cli("scan", str(repo), "--format", "sarif", "-o", str(old))
    (repo / "demo.c").write_text(BASE_DRIVER.replace("vmalloc(4096)", "kmalloc(4096, GFP_ATOMIC)")
                                 .replace("\td->tbl = kzalloc(128, GFP_KERNEL);",
                                          "\tspin_lock(&d->lock);\n\td->tbl = kzalloc(128, GFP_KERNEL);\n\tspin_unlock(&d->lock);"))
    proc = run_cli("scan", str(repo), "--format", "sarif", "--baseline", str(old))
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert sorted(r["baselineState"] for r in results) == ["absent", "new"]
    proc = run_cli("scan", str(repo), "--format", "json", "--baseline", str(old), "--new-only")
    assert len(json.loads(proc.stdout)["findings"]) == 1
    bad = tmp_path / "bad.sarif"
    bad.write_text("{nope")
    proc = run_cli("scan", str(repo), "--baseline", str(bad))
    assert proc.returncode == 2 and "bad.sarif: not JSON" in proc.stderr


def test_staged_change_for_pre_commit(repo, run_cli):
    (repo / "demo.c").write_text(BASE_DRIVER.replace("kzalloc(128, GFP_KERNEL)", "kzalloc(8 << 20, GFP_KERNEL)"))
    git(repo, "add", "demo.c")
    (repo / "demo.c").write_text(BASE_DRIVER)  # unstaged revert: only the index has the bug
    proc = run_cli("diff", "--tree", str(repo), "--staged", str(repo / "demo.c"))
    assert proc.returncode == 1 and "AS004" in proc.stdout
    proc = run_cli("diff", "--tree", str(repo), str(repo / "demo.c"))
    assert proc.returncode == 0


CORE = """// core code the driver calls
void *core_register(struct demo *d)
{
	return kmalloc(64, GFP_KERNEL);
}
"""


def test_a_driver_patch_calling_sleeping_core_code_under_its_lock_is_new_in_the_driver(repo, run_cli):
    """The allocation is in core code the patch does not touch: the new finding sits at
    the driver's locked call, in the patch's own file, with the core line related."""
    (repo / "core.c").write_text(CORE)
    git(repo, "add", "core.c")
    git(repo, "commit", "-q", "-m", "core")
    head = BASE_DRIVER.replace("\td->tbl = kzalloc(128, GFP_KERNEL);",
                               "\tspin_lock(&d->lock);\n\td->tbl = core_register(d);\n\tspin_unlock(&d->lock);")
    commit(repo, head, "demo: register under the lock")
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "sarif")
    assert proc.returncode == 1, proc.stderr
    results = [r for r in json.loads(proc.stdout)["runs"][0]["results"] if r.get("baselineState") == "new"]
    assert len(results) == 1
    (res,) = results
    loc = res["locations"][0]["physicalLocation"]
    assert (loc["artifactLocation"]["uri"], loc["region"]["startLine"]) == ("demo.c", 18)
    related = [(r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"]["startLine"])
               for r in res["relatedLocations"]]
    assert ("core.c", 4) in related
    flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
    last = flow[-1]["location"]["physicalLocation"]
    assert (last["artifactLocation"]["uri"], last["region"]["startLine"]) == ("core.c", 4)


def test_a_finding_whose_level_or_message_changed_is_updated(repo, run_cli, tmp_path):
    """Same site (same fingerprint), other evidence: the lock is now taken on some paths only."""
    old = tmp_path / "old.sarif"
    run_cli("scan", str(repo), "--format", "sarif", "-o", str(old))
    (repo / "demo.c").write_text(BASE_DRIVER.replace(
        "\tspin_lock_irqsave(&d->lock, flags);\n\td->buf = vmalloc(4096);\n\tspin_unlock_irqrestore(&d->lock, flags);",
        "\tif (d->tbl)\n\t\tspin_lock_irqsave(&d->lock, flags);\n\td->buf = vmalloc(4096);\n"
        "\tif (d->tbl)\n\t\tspin_unlock_irqrestore(&d->lock, flags);"))
    proc = run_cli("scan", str(repo), "--format", "sarif", "--baseline", str(old))
    (result,) = json.loads(proc.stdout)["runs"][0]["results"]
    before = json.loads(old.read_text())["runs"][0]["results"][0]
    assert result["partialFingerprints"] == before["partialFingerprints"]
    assert (result["level"], result["message"]["text"]) != (before["level"], before["message"]["text"])
    assert result["baselineState"] == "updated"


def test_a_path_list_reads_as_the_paths_it_holds():
    """A diff's discovery sends its files as text (discover.PathList): read, they are
    the Paths a discovery lists."""
    from allocscan.discover import PathList

    texts = ["/tree/drivers/a.c", "/tree/drivers/b.h", "/tree/include/c.h"]
    files = PathList(texts)
    assert len(files) == 3 and files[1] == Path("/tree/drivers/b.h")
    assert list(files) == [Path(t) for t in texts] and files[1:] == [Path(t) for t in texts[1:]]
    assert files == [Path(t) for t in texts] and files != [Path(t) for t in reversed(texts)]
