"""The value analysis' kernel knowledge is data: macros.toml and sources.toml,
read by the analysis and by extraction alike."""

from __future__ import annotations

import json

import pytest

from allocscan.extract import extract_file
from allocscan.kernel.tables import table_paths

from .test_values import sizes


@pytest.fixture
def tables(monkeypatch, tmp_path):
    """Replace built-in tables: write NAME's text into the override directory."""
    from allocscan.cache import analyzer_key
    from allocscan.kernel.tables import DATA_DIR_ENV, reload_tables

    directory = tmp_path / "tables"
    directory.mkdir()

    def override(name: str, text: str) -> None:
        (directory / name).write_text(text)
        monkeypatch.setenv(DATA_DIR_ENV, str(directory))
        reload_tables()
        analyzer_key.cache_clear()

    yield override
    monkeypatch.undo()
    reload_tables()
    analyzer_key.cache_clear()


DRIVER = """
struct demo { u32 len; };
static ssize_t len_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t count)
{
	struct demo *d = dev_get_drvdata(dev);
	u32 len;

	if (demo_parse_u32(buf, &len))
		return -EINVAL;
	d->len = len;
	return count;
}
void *demo_alloc(struct demo *d) { return kmalloc(demo_cap(d->len, 4096), GFP_KERNEL); }
void *demo_raw(struct demo *d) { return kmalloc(d->len, GFP_KERNEL); }
"""


def test_a_parser_added_to_sources_toml_makes_its_value_user_controlled(tables):
    v = sizes(("drivers/demo/a.c", DRIVER))
    assert not v["demo_raw"].known  # demo_parse_u32() is nobody we know
    text = table_paths()["sources.toml"].read_text()
    tables("sources.toml", text.replace("[parsers]\n", "[parsers]\ndemo_parse_u32 = { type = \"u32\" }\n", 1))
    v = sizes(("drivers/demo/a.c", DRIVER))
    assert v["demo_raw"].hi == 0xFFFFFFFF and v["demo_raw"].sources == frozenset({"sysfs:len_store"})


def test_a_macro_added_to_macros_toml_is_evaluated(tables):
    text = table_paths()["sources.toml"].read_text()
    tables("sources.toml", text.replace("[parsers]\n", "[parsers]\ndemo_parse_u32 = { type = \"u32\" }\n", 1))
    assert sizes(("drivers/demo/a.c", DRIVER))["demo_alloc"].sources == frozenset()  # demo_cap(): unknown
    macros = table_paths()["macros.toml"].read_text()
    tables("macros.toml", macros.replace("[macros]\n", "[macros]\ndemo_cap = { eval = \"min\" }\n", 1))
    v = sizes(("drivers/demo/a.c", DRIVER))
    assert v["demo_alloc"].hi == 4096 and v["demo_alloc"].sources


def test_builtin_constants_come_from_the_table(tables):
    macros = table_paths()["macros.toml"].read_text()
    src = ("drivers/demo/b.c", "void *f(void) { return kmalloc(ETH_FRAME_LEN + NET_SKB_PAD, GFP_KERNEL); }")
    assert sizes(src)["f"].hi == 1514 + 64
    tables("macros.toml", macros.replace("ETH_FRAME_LEN = 1514", "ETH_FRAME_LEN = 9014"))
    assert sizes(src)["f"].hi == 9014 + 64


def test_extraction_parses_the_arguments_of_every_call_sources_toml_names(tables):
    """One list for extraction and analysis: a call added to sources.toml has its argument IR
    computed when the file is parsed; a call it does not name is left as text."""
    text = "void f(char *buf) { u32 v; demo_parse_u32(buf, &v); kstrtou16(buf, 0, &v); other_call(buf, &v); }"
    args = {s.callee: s.args for s in extract_file("drivers/demo/c.c", text.encode()).functions[0].calls}
    assert args["kstrtou16"] is not None and args["demo_parse_u32"] is None and args["other_call"] is None
    sources = table_paths()["sources.toml"].read_text()
    tables("sources.toml", sources.replace("[parsers]\n", "[parsers]\ndemo_parse_u32 = { type = \"u32\" }\n", 1))
    args = {s.callee: s.args for s in extract_file("drivers/demo/c.c", text.encode()).functions[0].calls}
    assert args["demo_parse_u32"] == (("id", "buf"), ("addr", ("id", "v")))
    assert args["other_call"] is None


def test_module_param_forms_come_from_the_table(tables):
    text = ("static unsigned int depth = 16;\n"
            "demo_param_named(ring_depth, depth, uint, 0644);\n"
            "void *f(void) { return kmalloc(depth, GFP_KERNEL); }\n")
    assert not sizes(("drivers/demo/d.c", text))["f"].sources
    sources = table_paths()["sources.toml"].read_text()
    form = "demo_param_named = { name = 0, variable = 1, type = 2, perm = -1, min_args = 4 }\n"
    tables("sources.toml", sources.replace("[module_param.forms]\n", "[module_param.forms]\n" + form, 1))
    assert sizes(("drivers/demo/d.c", text))["f"].sources == frozenset({"module_param:ring_depth"})


def test_the_warm_cache_sees_a_source_added_to_the_table(tables, tmp_path, run_cli):
    tree = tmp_path / "drv"
    tree.mkdir()
    (tree / "demo.c").write_text(DRIVER)
    cache = tmp_path / "cache"

    def as003() -> list:
        out = run_cli("scan", str(tree), "--format", "json", "--fail-on", "none", "--cache-dir", str(cache))
        return [f["line"] for f in json.loads(out.stdout)["findings"] if f["ruleId"] == "AS003"]

    assert as003() == []
    sources = table_paths()["sources.toml"].read_text()
    tables("sources.toml", sources.replace("[parsers]\n", "[parsers]\ndemo_parse_u32 = { type = \"u32\" }\n", 1))
    assert as003() == [14]  # demo_raw()


def test_skb_overheads_agree_between_the_value_and_allocator_tables():
    """macros.toml evaluates SKB_HEAD_ALIGN()/NET_SKB_PAD in driver code; allocators.toml adds
    the same bytes to an skb head's size on its way to kmalloc: the two must not drift."""
    import tomllib

    from allocscan.kernel.tables import table_paths

    paths = table_paths()
    macros = tomllib.loads(paths["macros.toml"].read_text())
    overheads = tomllib.loads(paths["allocators.toml"].read_text())["overheads"]
    assert macros["sizes"]["skb_shared_info"] == overheads["SKB_SHARED_INFO"]
    assert macros["constants"]["NET_SKB_PAD"] == overheads["NET_SKB_PAD"]
