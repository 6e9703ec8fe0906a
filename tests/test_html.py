"""--format html: the report's content, and the report in a real browser.

The browser test drives Debian's Chromium headless through Selenium and
chromedriver (the W3C WebDriver protocol; Selenium is the project's official
binding, kept in step with the browsers, and reads the console log through
chromedriver). `.ci/run` installs chromium and chromium-driver when missing;
outside CI the test is skipped without them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import CORPORA


@pytest.fixture(scope="module")
def corpora_report(tmp_path_factory):
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("report")
    env = dict(os.environ, XDG_CACHE_HOME=str(out / "cache"))
    proc = subprocess.run([sys.executable, "-m", "allocscan", "scan", str(CORPORA), "--format", "html", "-o",
                           str(out / "html"), "--fail-on", "none"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(subprocess.run([sys.executable, "-m", "allocscan", "scan", str(CORPORA), "--format", "json",
                                     "--fail-on", "none"], capture_output=True, text=True, env=env).stdout)
    return out / "html", doc["findings"]


def test_index_lists_every_finding_with_its_filters(corpora_report):
    html_dir, findings = corpora_report
    index = (html_dir / "index.html").read_text()
    rows = re.findall(r'<tr data-rule="(\w+)" data-level="(\w+)" data-dir="([^"]*)" data-context="([^"]*)"', index)
    assert [(r, lv) for r, lv, _, _ in rows] == [(f["ruleId"], f["level"]) for f in findings]
    contexts = {c for _, _, _, c in rows}
    assert {"hardirq", "softirq", "process"} <= contexts and any(c.startswith("lock") for c in contexts)
    for rule in {f["ruleId"] for f in findings}:
        n = sum(1 for f in findings if f["ruleId"] == rule)
        assert f'data-value="{rule}" data-total="{n}"' in index  # the chart's bar
    assert len(list((html_dir / "findings").glob("*.html"))) == len(findings)


def test_pages_are_self_contained(corpora_report):
    html_dir, _ = corpora_report
    for page in [html_dir / "index.html", *(html_dir / "findings").glob("*.html")]:
        text = page.read_text()
        assert "default-src 'none'" in text  # nothing may load, even by mistake
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), page
        assert "<link" not in text and "@import" not in text


def test_finding_page_marks_each_step_in_the_source(corpora_report):
    html_dir, findings = corpora_report
    number, f = next((i, f) for i, f in enumerate(findings, 1)
                     if f["ruleId"] == "AS002" and any(s["kind"] == "acquire" for s in f["witness"]))
    page = (html_dir / "findings" / f"{number}.html").read_text()
    for step_number, step in enumerate(f["witness"], 1):
        row = re.search(rf'<tr id="f\d+-L{step["line"]}" class="hit k-{step["kind"]}">.*?</tr>', page, re.S)
        assert row, step
        assert f'<span class="num k-{step["kind"]}" title="' in row.group(0) and f">{step_number}</span>" in row.group(0)
    for line in f["properties"]["runtimeSignature"].splitlines():
        assert line.replace("<", "&lt;").replace(">", "&gt;") in page
    sized = next((i, f) for i, f in enumerate(findings, 1) if f["valueFlow"])
    page = (html_dir / "findings" / f"{sized[0]}.html").read_text()
    assert "How the size gets there" in page and 'class="hit k-source"' in page


def test_html_needs_an_output_directory(run_cli):
    proc = run_cli("scan", str(CORPORA), "--format", "html")
    assert proc.returncode == 2 and "-o DIR" in proc.stderr and "Traceback" not in proc.stderr


def test_diff_html(tmp_path, run_cli):
    from .test_diff import BASE_DRIVER, commit, git

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "demo.c").write_text(BASE_DRIVER)
    git(repo, "add", "demo.c")
    git(repo, "commit", "-q", "-m", "base")
    commit(repo, BASE_DRIVER.replace("d->tbl = kzalloc(128, GFP_KERNEL);",
                                     "spin_lock(&d->lock);\n\td->tbl = kzalloc(128, GFP_KERNEL);\n"
                                     "\tspin_unlock(&d->lock);"), "lock it")
    out = tmp_path / "html"
    proc = run_cli("diff", "--tree", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "html", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    index = (out / "index.html").read_text()
    assert index.count('<tr data-rule="AS002"') == 1 and "<small>new</small>" in index
    page = (out / "findings" / "1.html").read_text()
    assert "kzalloc(128, GFP_KERNEL)" in page and 'class="hit k-acquire"' in page  # the head's source, from git


# --- in a browser ----------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")


def _browser_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    paths = _browser_paths()
    if paths is None:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: .ci/run installs them")
        pytest.skip("chromium and chromedriver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        counted = rgb.resize((width // 4, height // 4)).getcolors(maxcolors=1 << 20)
    colours = len(counted)
    inked = sum(n for n, p in counted if sum(p) < 600) / sum(n for n, _ in counted)  # not white or near-white
    assert colours > 40 and inked > 0.03, (colours, inked)


def test_index_in_chromium_loads_filters_and_sorts(browser, corpora_report, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html_dir, findings = corpora_report
    browser.get((html_dir / "index.html").as_uri())
    assert _console_errors(browser) == []

    def visible() -> list:
        return [r for r in browser.find_elements(By.CSS_SELECTOR, "#findings tbody tr") if r.is_displayed()]

    assert len(visible()) == len(findings)
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("AS002")
    as002 = [f for f in findings if f["ruleId"] == "AS002"]
    assert len(visible()) == len(as002) and browser.find_element(By.ID, "shown").text == str(len(as002))
    bar = browser.find_element(By.CSS_SELECTOR, '#chart-rule .bar[data-value="AS001"] text.count')
    assert bar.text == f"0 / {sum(1 for f in findings if f['ruleId'] == 'AS001')}"  # the chart follows the filter
    Select(browser.find_element(By.ID, "f-level")).select_by_value("error")
    assert len(visible()) == sum(1 for f in as002 if f["level"] == "error")
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("")
    Select(browser.find_element(By.ID, "f-level")).select_by_value("")
    browser.find_element(By.ID, "f-text").send_keys("demo_poll")
    wanted = [f for f in findings if any("demo_poll" in f[k] for k in ("path", "function", "message"))]
    assert len(visible()) == len(wanted) and 0 < len(wanted) < len(findings)
    browser.find_element(By.ID, "f-text").clear()
    browser.find_element(By.ID, "f-text").send_keys(" ")  # an input event with nothing to search for
    browser.find_element(By.CSS_SELECTOR, '#chart-level .bar[data-value="warning"]').click()
    assert len(visible()) == sum(1 for f in findings if f["level"] == "warning")
    browser.find_element(By.CSS_SELECTOR, '#chart-level .bar[data-value="warning"]').click()  # clears it
    assert len(visible()) == len(findings)
    header = browser.find_element(By.CSS_SELECTOR, '#findings th[data-col="7"]')  # size
    header.click()
    header.click()  # descending: the largest size first
    sizes = [float(r.find_elements(By.TAG_NAME, "td")[7].get_attribute("data-sort")) for r in visible()]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert _console_errors(browser) == []
    shot = tmp_path / "index.png"
    browser.save_screenshot(str(shot))
    _not_blank(shot)


def test_finding_page_in_chromium(browser, corpora_report, tmp_path):
    from selenium.webdriver.common.by import By

    html_dir, findings = corpora_report
    browser.get((html_dir / "findings" / "1.html").as_uri())
    assert _console_errors(browser) == []
    assert browser.find_elements(By.CSS_SELECTOR, "table.code tr.hit")
    shot = tmp_path / "finding.png"
    browser.save_screenshot(str(shot))
    _not_blank(shot)


# --- explain --format html ------------------------------------------------------------

LOGS = Path(__file__).parent / "data" / "logs"


def test_explain_chart_marks_the_request_and_the_blocks_it_may_not_use(run_cli, tmp_path):
    """fragmented_cma_arm_4_9.log: order 9 requested, the 66 free blocks of order >= 9 all CMA."""
    from allocscan.explain import explain_text
    from allocscan.explain.logparse import parse_log

    log = LOGS / "fragmented_cma_arm_4_9.log"
    out = tmp_path / "explain"
    proc = run_cli("explain", str(log), "--format", "html", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert "default-src 'none'" in page
    (d,) = explain_text(log.read_text(), "x")
    (report,) = parse_log(log.read_text())
    zone = report.zones[0]
    order = d.request["order"]
    for o, count, types in zone.buddy:
        bar = re.search(rf'<g class="order o{o} (\w+)">', page)
        assert bar, o
        if o < order:
            assert bar.group(1) == "small"
        elif count:
            assert bar.group(1) == "unusable", (o, types)  # all CMA, and the request is unmovable
    assert f"requested: order {order} (2 MiB)" in page
    assert "66 free block(s) of order 9 or above, all CMA: none may serve an unmovable request." in page


def test_explain_chart_shows_usable_blocks_as_usable():
    """A movable-capable or an unmovable request with non-CMA blocks big enough: green, not red."""
    from allocscan.report.explain_html import order_bars, zone_caption

    bars = order_bars([(8, 3, "UM"), (9, 2, "C"), (10, 1, "M")], 9, {9: False, 10: True})
    assert [b.state for b in bars] == ["small", "unusable", "usable"]
    assert zone_caption(bars, 9, "unmovable") == "3 free block(s) of order 9 or above (CMA, movable); 1 may serve it."


def test_explain_html_needs_an_output_directory(run_cli):
    proc = run_cli("explain", str(LOGS / "oom_x86_6_1.log"), "--format", "html")
    assert proc.returncode == 2 and "-o DIR" in proc.stderr


def test_explain_page_in_chromium(browser, run_cli, tmp_path):
    out = tmp_path / "explain"
    assert run_cli("explain", str(LOGS / "fragmented_cma_arm_4_9.log"), str(LOGS / "oom_x86_6_1.log"),
                   "--format", "html", "-o", str(out)).returncode == 0
    browser.get((out / "index.html").as_uri())
    assert _console_errors(browser) == []
    from selenium.webdriver.common.by import By

    assert len(browser.find_elements(By.CSS_SELECTOR, ".zone svg")) >= 2
    shot = tmp_path / "explain.png"
    browser.save_screenshot(str(shot))
    _not_blank(shot)
