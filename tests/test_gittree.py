"""A git revision scanned from the object store (gittree) reads as a checkout of it would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from allocscan.cache import FactsCache
from allocscan.extract.source import content_id
from allocscan.gittree import RevisionView, list_revision, revision_scan_input
from allocscan.pipeline import ScanOptions, _read_makefiles, run_scan

from .conftest import git

KERNEL_MAKEFILE = "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n"

RING_DRIVER = """#include <linux/slab.h>
#include "ring.h"

struct ring { spinlock_t lock; void *desc; unsigned int count; };

static void ring_refill(struct ring *r)
{
	spin_lock(&r->lock);
	r->desc = kzalloc(RING_BYTES, GFP_KERNEL);
	spin_unlock(&r->lock);
}
"""

IRQ_DRIVER = """#include <linux/interrupt.h>
#include <linux/slab.h>

static irqreturn_t pkt_irq(int irq, void *data)
{
	void *buf = kmalloc(64 << 10, GFP_ATOMIC);

	kfree(buf);
	return IRQ_HANDLED;
}

static int pkt_probe(struct device *dev, int irq)
{
	return request_irq(irq, pkt_irq, 0, "pkt", dev);
}
"""


@pytest.fixture
def kernel_repo(tmp_path):
    """A kernel-shaped git repository: two drivers, a header, a tool and a hidden directory."""
    r = tmp_path / "linux"
    files = {
        "Makefile": KERNEL_MAKEFILE,
        "drivers/net/ring/ring.c": RING_DRIVER,
        "drivers/net/ring/ring.h": "#define RING_BYTES (256 * 1024)\n",
        "drivers/net/ring/Makefile": "obj-m += ring.o\nccflags-y += -DRING_DEBUG\n",
        "drivers/misc/pkt.c": IRQ_DRIVER,
        "tools/demo/user.c": "int main(void) { return 0; }\n",
        ".hidden/skip.c": IRQ_DRIVER,
    }
    for rel, text in files.items():
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text(text)
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "base")
    return r


def findings_of(result) -> list[tuple]:
    return sorted((f.rule_id, f.path, f.line, f.level, f.fingerprint, f.message) for f in result.findings)


def test_content_id_is_the_git_blob_id(tmp_path):
    data = b"int x;\n\xe9\n"
    (tmp_path / "f.c").write_bytes(data)
    blob = subprocess.run(["git", "hash-object", str(tmp_path / "f.c")], capture_output=True, text=True).stdout.strip()
    assert content_id(data) == blob


def test_links_to_files_are_the_files_as_in_a_checkout(kernel_repo):
    (kernel_repo / "drivers/misc/link.c").symlink_to("pkt.c")
    (kernel_repo / "drivers/misc/chain.h").symlink_to("../net/ring/../ring/ring.h")
    (kernel_repo / "drivers/misc/twice.h").symlink_to("chain.h")
    (kernel_repo / "drivers/misc/dir").symlink_to("../net")
    (kernel_repo / "drivers/misc/out.h").symlink_to("../../../elsewhere.h")
    (kernel_repo / "drivers/misc/gone.h").symlink_to("none.h")
    git(kernel_repo, "add", "-A")
    git(kernel_repo, "commit", "-q", "-m", "links")
    files = list_revision(kernel_repo, "HEAD")
    pkt, ring = files["drivers/misc/pkt.c"], files["drivers/net/ring/ring.h"]
    assert pkt == content_id((kernel_repo / "drivers/misc/pkt.c").read_bytes())
    assert (files["drivers/misc/link.c"], files["drivers/misc/chain.h"], files["drivers/misc/twice.h"]) == (pkt, ring, ring)
    assert not {"drivers/misc/dir", "drivers/misc/out.h", "drivers/misc/gone.h"} & set(files)
    options = ScanOptions(cache_dir=None)
    checkout = run_scan([str(kernel_repo)], options)
    with revision_scan_input(kernel_repo, "HEAD", [], (), None, FactsCache(None)) as (top, targets, disc):
        listed = [disc.rel(f) for f in disc.files]
    # A checkout's walk also lists the dangling link and the one out of the tree (and then
    # warns that it cannot read the first, and reads whatever the second finds there).
    walked = [checkout.discovery.rel(f) for f in checkout.discovery.files]
    assert listed == [rel for rel in walked if rel not in ("drivers/misc/gone.h", "drivers/misc/out.h")]
    assert {"drivers/misc/link.c", "drivers/misc/twice.h"} <= set(listed)


@pytest.mark.parametrize("scope", [[], ["drivers/net/ring"], ["drivers/misc/pkt.c", "drivers/net"]])
def test_revision_scan_equals_a_checkout_scan(kernel_repo, tmp_path, scope):
    options = ScanOptions(cache_dir=None)
    checkout = run_scan([str(kernel_repo / p) for p in scope] or [str(kernel_repo)], options)
    with revision_scan_input(kernel_repo, "HEAD", scope, (), None, FactsCache(None)) as (top, targets, disc):
        from_git = run_scan(targets, options, discovery=disc)
        assert [disc.rel(f) for f in disc.files] == [checkout.discovery.rel(f) for f in checkout.discovery.files]
        assert disc.whole_tree == checkout.discovery.whole_tree
        assert list(_read_makefiles(disc)) == list(_read_makefiles(checkout.discovery))
    assert findings_of(from_git) == findings_of(checkout)
    assert from_git.discovery.kernel.release == "6.1.0"
    assert {f.rule_id for f in from_git.findings} >= ({"AS002"} if scope != ["drivers/misc/pkt.c"] else set())


def test_files_whose_facts_are_cached_are_not_written(kernel_repo, tmp_path):
    options = ScanOptions(cache_dir=tmp_path / "cache")
    first = run_scan([str(kernel_repo)], options)  # fills the cache from the checkout
    (kernel_repo / "drivers/misc/pkt.c").write_text(IRQ_DRIVER.replace("64 << 10", "128 << 10"))
    git(kernel_repo, "commit", "-q", "-am", "bigger buffer")
    cache = FactsCache(options.cache_dir)
    with revision_scan_input(kernel_repo, "HEAD", [], (), None, cache) as (top, targets, disc):
        written = sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file())
        result = run_scan(targets, options, discovery=disc)
    # The release's Makefile and the one file changed since the cache was filled; nothing else.
    assert written == ["Makefile", "drivers/misc/pkt.c"]
    assert result.stats.cached == first.stats.files - 1 and result.stats.parsed == 1
    assert [f.message for f in result.findings if f.rule_id == "AS001"] != \
        [f.message for f in first.findings if f.rule_id == "AS001"]


def test_view_walk_prunes_like_os_walk(kernel_repo):
    files = list_revision(kernel_repo, "HEAD")
    view = RevisionView(kernel_repo, files)
    seen = []
    for dirpath, dirnames, filenames in view.walk(kernel_repo):
        dirnames[:] = [d for d in dirnames if d != "net"]
        seen.extend(Path(dirpath, n).relative_to(kernel_repo).as_posix() for n in filenames)
    assert "drivers/misc/pkt.c" in seen and not any(s.startswith("drivers/net/") for s in seen)
    assert view.is_dir(kernel_repo / "drivers") and not view.is_file(kernel_repo / "drivers")
    assert not view.exists(kernel_repo / "drivers/none")


def test_mbox_series_touching_one_file_twice(kernel_repo, run_cli, tmp_path):
    pkt = kernel_repo / "drivers/misc/pkt.c"
    pkt.write_text(IRQ_DRIVER.replace("64 << 10", "8 << 10"))
    git(kernel_repo, "commit", "-q", "-am", "pkt: smaller buffer")
    pkt.write_text(IRQ_DRIVER.replace("64 << 10", "8 << 10").replace("GFP_ATOMIC", "GFP_KERNEL"))
    git(kernel_repo, "commit", "-q", "-am", "pkt: allocate with GFP_KERNEL")
    series = tmp_path / "series.mbox"
    series.write_text(git(kernel_repo, "format-patch", "-2", "--stdout"))
    git(kernel_repo, "reset", "-q", "--hard", "HEAD~2")
    proc = run_cli("diff", "--tree", str(kernel_repo), "--patch", str(series), "--show-fixed", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["ruleId"], f["path"]) for f in report["new"]] == [("AS002", "drivers/misc/pkt.c")]
    assert [f["ruleId"] for f in report["fixed"]] == ["AS001"]
    assert git(kernel_repo, "status", "--porcelain") == ""  # neither the checkout nor the index changed


def test_a_revision_that_does_not_exist(kernel_repo, run_cli):
    proc = run_cli("diff", "--tree", str(kernel_repo), "--base", "no-such-branch")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"allocscan: no-such-branch: not a revision of {kernel_repo}"]
