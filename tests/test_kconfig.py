"""--kconfig and --compile-commands: the .config reader, the #if transform, the
Kbuild walk, and a scan restricted to what one small config builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocscan.extract.kconfig import apply_config
from allocscan.kbuild import built_files, sources_from_compile_commands, KbuildError
from allocscan.kernel.kconfig import KconfigError, KernelConfig, load_kconfig


def _config(**values) -> KernelConfig:
    return KernelConfig("test", {f"CONFIG_{k}": v for k, v in values.items()})


# --- .config ------------------------------------------------------------------

def test_dot_config_values(tmp_path):
    p = tmp_path / ".config"
    p.write_text("#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_A=y\nCONFIG_B=m\n"
                 "# CONFIG_C is not set\nCONFIG_LOG_BUF_SHIFT=17\nCONFIG_NAME=\"x86 \\\"box\\\"\"\n\n")
    cfg = load_kconfig(str(p))
    assert cfg.tristate("CONFIG_A") == "y" and cfg.tristate("CONFIG_B") == "m"
    assert cfg.tristate("CONFIG_C") == "n" and cfg.tristate("CONFIG_NOT_LISTED") == "n"
    assert cfg.value("CONFIG_NAME") == 'x86 "box"' and cfg.value("CONFIG_LOG_BUF_SHIFT") == "17"
    # autoconf.h: =y defines CONFIG_A, =m defines CONFIG_B_MODULE and not CONFIG_B
    assert cfg.defines("CONFIG_A") and not cfg.defines("CONFIG_A_MODULE")
    assert cfg.defines("CONFIG_B_MODULE") and not cfg.defines("CONFIG_B")
    assert not cfg.defines("CONFIG_C") and cfg.defines("CONFIG_LOG_BUF_SHIFT")
    same = tmp_path / "same"
    same.write_text("CONFIG_B=m\nCONFIG_A=y\n# CONFIG_C is not set\nCONFIG_LOG_BUF_SHIFT=17\n"
                    "CONFIG_NAME=\"x86 \\\"box\\\"\"\n")
    assert load_kconfig(str(same)).digest == cfg.digest  # order and comments do not matter
    same.write_text(same.read_text().replace("CONFIG_B=m", "CONFIG_B=y"))
    assert load_kconfig(str(same)).digest != cfg.digest


@pytest.mark.parametrize("content, message", [
    (b"CONFIG_A=y\nthis is not a config line\n", ".config:2: not a .config line"),
    (b"\x7fELF\x00\x01", "binary file"),
    (b"CONFIG_A=\xff\n", "not UTF-8"),
    (b"# nothing set here\n", "no CONFIG_ symbol is set"),
])
def test_bad_dot_config_is_one_line_and_exit_2(tmp_path, run_cli, content, message):
    p = tmp_path / ".config"
    p.write_bytes(content)
    with pytest.raises(KconfigError, match=message.replace("(", r"\(")):
        load_kconfig(str(p))
    src = tmp_path / "d.c"
    src.write_text("int x;\n")
    proc = run_cli("scan", str(src), "--kconfig", str(p))
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_kconfig_file(run_cli, tmp_path):
    src = tmp_path / "d.c"
    src.write_text("int x;\n")
    proc = run_cli("scan", str(src), "--kconfig", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "nope: no such file" in proc.stderr and "Traceback" not in proc.stderr


# --- the #if transform -----------------------------------------------------------

SOURCE = """\
#ifndef _DEMO_H
#define _DEMO_H
#ifdef CONFIG_A
a_on();
#else
a_off();
#endif
#if IS_ENABLED(CONFIG_B) && !defined(CONFIG_C)
b_on();
#elif defined(CONFIG_A)
b_elif();
#else
b_else();
#endif
#ifdef CONFIG_B
b_builtin_only();
#endif
#if defined(CONFIG_C) || defined(SOMETHING_ELSE)
unknown_or_false();
#endif
#if defined(CONFIG_A) || defined(SOMETHING_ELSE)
true_or_unknown();
#endif
#if 0
not_config();
#endif
/*
#ifdef CONFIG_C
in_a_comment();
#endif
*/
#if CONFIG_N > 2
comparison();
#endif
#if IS_MODULE(CONFIG_B)
#ifdef CONFIG_C
nested_off();
#elif IS_BUILTIN(CONFIG_A)
nested_on();
#endif
#endif
#endif
"""


def _lines_kept(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def test_disabled_branches_are_blanked_in_place():
    out = apply_config(SOURCE, _config(A="y", B="m", C="n", N="3"))
    assert len(out.text) == len(SOURCE)
    assert [i for i, c in enumerate(out.text) if c == "\n"] == [i for i, c in enumerate(SOURCE) if c == "\n"]
    kept = _lines_kept(out.text)
    for gone in ("a_off();", "b_elif();", "b_else();", "b_builtin_only();", "nested_off();"):
        assert gone not in kept, gone
    for stays in ("a_on();", "b_on();", "unknown_or_false();", "true_or_unknown();", "not_config();",
                  "in_a_comment();", "comparison();", "nested_on();"):
        assert stays in kept, stays
    # decided chains lose their directives; unknown ones and non-config ones keep them
    assert "#ifdef CONFIG_A" not in kept and "#else" not in kept and "#elif defined(CONFIG_A)" not in kept
    assert "#ifndef _DEMO_H" in kept and "#if 0" in kept and "#if CONFIG_N > 2" in kept
    assert "#if defined(CONFIG_C) || defined(SOMETHING_ELSE)" in kept
    assert "#if defined(CONFIG_A) || defined(SOMETHING_ELSE)" not in kept  # true whatever the other name is
    assert out.blanked_lines == 5
    depends = {SOURCE.splitlines()[first - 1]: symbols for first, last, symbols in out.depends}
    assert depends["a_on();"] == ("CONFIG_A",)
    assert depends["b_on();"] == ("CONFIG_B", "CONFIG_C")
    assert depends["comparison();"] == ("CONFIG_N",)
    assert depends["nested_on();"] == ("CONFIG_B", "CONFIG_C", "CONFIG_A")
    assert "not_config();" not in depends


def test_the_other_config_takes_the_other_branches():
    out = apply_config(SOURCE, _config(A="n", B="y", C="y"))
    kept = _lines_kept(out.text)
    assert {"a_off();", "b_else();", "b_builtin_only();", "unknown_or_false();"} <= kept
    assert not {"a_on();", "b_on();", "b_elif();", "nested_on();", "nested_off();"} & kept


def test_unbalanced_or_self_defined_symbols_are_left_alone():
    unbalanced = "#ifdef CONFIG_A\nx();\n"
    out = apply_config(unbalanced, _config(A="n"))
    assert out.text == unbalanced and out.unbalanced
    local = "#define CONFIG_LOCAL 1\n#ifdef CONFIG_LOCAL\nx();\n#endif\n"
    assert apply_config(local, _config(A="y")).text == local  # the file decides, not the .config


# --- the Kbuild walk ---------------------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


KBUILD_TREE = {
    "Kbuild": "obj-y += core/\nobj-$(CONFIG_DEMO_DRIVERS) += drivers/\nobj-$(CONFIG_OFF) += unused/\n",
    "core/Makefile": ("obj-y := main.o\nobj-$(CONFIG_DEMO_DEBUG) += debug.o\n"
                      "ifdef CONFIG_DEMO_DEBUG\n\tobj-y += tabbed.o\nendif\n"  # a tab indents, under ifdef
                      "$(obj)/table.c: $(src)/gen.sh FORCE\n\tobj-y += recipe.o\n"),  # a tab starts a recipe
    "core/main.c": "", "core/debug.c": "", "core/tabbed.c": "", "core/recipe.c": "",
    "unused/Makefile": "obj-y += never.o\n", "unused/never.c": "",
    "drivers/Makefile": ("# composite objects and subdirectories\n"
                         "obj-$(CONFIG_DEMO_NET) += net/\n"
                         "obj-$(CONFIG_DEMO_USB) += usbdemo.o\n"
                         "usbdemo-y := usb_core.o usb_ep.o\n"
                         "usbdemo-$(CONFIG_DEMO_USB_TRACE) += usb_trace.o\n"
                         "usbdemo-$(CONFIG_OFF) += usb_off.o\n"
                         "obj-$(CONFIG_DEMO_SPI) += spidemo.o\n"
                         "spidemo-objs := spi/spi_main.o \\\n\tspi/spi_xfer.o\n"
                         "ifeq ($(CONFIG_DEMO_NET),y)\nobj-y += builtin_only.o\nelse\nobj-y += not_builtin.o\nendif\n"
                         "ifdef CONFIG_OFF\nobj-y += off_ifdef.o\nendif\n"
                         "obj-$(CONFIG_DEMO_I2C) += $(addprefix i2c/, i2c_a.o i2c_b.o)\n"
                         "obj-$(CONFIG_DEMO_I2C) += generated_table.o\n"),
    "drivers/usb_core.c": "", "drivers/usb_ep.c": "", "drivers/usb_trace.c": "", "drivers/usb_off.c": "",
    "drivers/spi/spi_main.c": "", "drivers/spi/spi_xfer.c": "", "drivers/spi/spi_unused.c": "",
    "drivers/builtin_only.c": "", "drivers/not_builtin.c": "", "drivers/off_ifdef.c": "",
    "drivers/i2c/i2c_a.c": "", "drivers/i2c/i2c_b.c": "", "drivers/i2c/i2c_c.c": "",
    "drivers/net/Kbuild": "obj-$(CONFIG_DEMO_NET) += netdemo.o\n",
    "drivers/net/Makefile": "obj-y += ignored_because_kbuild_wins.o\n",
    "drivers/net/netdemo.c": "", "drivers/net/ignored_because_kbuild_wins.c": "",
}


def test_kbuild_walk_follows_directories_composites_and_conditionals(tmp_path):
    _write(tmp_path, KBUILD_TREE)
    cfg = _config(DEMO_DRIVERS="y", DEMO_NET="m", DEMO_USB="m", DEMO_USB_TRACE="y", DEMO_SPI="y",
                  DEMO_I2C="y", OFF="n")
    built = built_files(tmp_path, cfg)
    assert set(built.sources) == {
        "core/main.c", "drivers/net/netdemo.c", "drivers/usb_core.c", "drivers/usb_ep.c", "drivers/usb_trace.c",
        "drivers/spi/spi_main.c", "drivers/spi/spi_xfer.c", "drivers/not_builtin.c",
        "drivers/i2c/i2c_a.c", "drivers/i2c/i2c_b.c"}
    assert built.unresolved == ["drivers/generated_table.o"]  # said, not silently dropped
    assert built.sources["drivers/usb_trace.c"] == ("CONFIG_DEMO_DRIVERS", "CONFIG_DEMO_USB", "CONFIG_DEMO_USB_TRACE")
    assert built.sources["drivers/net/netdemo.c"] == ("CONFIG_DEMO_DRIVERS", "CONFIG_DEMO_NET")
    other = built_files(tmp_path, _config(DEMO_DRIVERS="y", DEMO_NET="y", DEMO_DEBUG="y"))
    assert set(other.sources) == {"core/main.c", "core/debug.c", "core/tabbed.c", "drivers/net/netdemo.c",
                                  "drivers/builtin_only.c"}


def test_compile_commands(tmp_path):
    _write(tmp_path, {"a/x.c": "", "a/y.c": "", "a/z.S": ""})
    db = tmp_path / "compile_commands.json"
    db.write_text(json.dumps([
        {"directory": str(tmp_path), "file": "a/x.c", "command": "gcc -c a/x.c"},
        {"directory": str(tmp_path / "a"), "file": "../a/y.c", "arguments": ["gcc", "-c", "y.c"]},
        {"directory": str(tmp_path), "file": "a/z.S", "command": "gcc -c a/z.S"}]))
    assert sorted(p.name for p in sources_from_compile_commands(db)) == ["x.c", "y.c"]
    db.write_text("{not json")
    with pytest.raises(KbuildError, match="not JSON"):
        sources_from_compile_commands(db)
    db.write_text(json.dumps([{"directory": "/"}]))
    with pytest.raises(KbuildError, match="entry 0 has no"):
        sources_from_compile_commands(db)


# --- a scan restricted to a small config ---------------------------------------------

DEMO_A = """\
// Driver-shaped demo: which allocation runs under the lock depends on the config.
static DEFINE_SPINLOCK(demo_lock);
static void *demo_buf;

static void demo_refill(void)
{
	spin_lock(&demo_lock);
#ifdef CONFIG_DEMO_A_BIGBUF
	demo_buf = kmalloc(64, GFP_KERNEL);
#else
	demo_buf = kmalloc(64, GFP_ATOMIC);
#endif
	spin_unlock(&demo_lock);
}
"""

DEMO_B = """\
static DEFINE_SPINLOCK(b_lock);

static void demo_b_reset(void)
{
	void *p;

	spin_lock(&b_lock);
	p = vmalloc(4096);
	spin_unlock(&b_lock);
}
"""

SCAN_TREE = {
    "Kbuild": "obj-y += drivers/\n",
    "drivers/Makefile": "obj-$(CONFIG_DEMO_A) += demo_a.o\nobj-$(CONFIG_DEMO_B) += demo_b.o\n",
    "drivers/demo_a.c": DEMO_A, "drivers/demo_b.c": DEMO_B,
}


def _scan(run_cli, tree: Path, *extra: str) -> dict:
    proc = run_cli("scan", str(tree), "--format", "json", "--fail-on", "none", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _sites(doc: dict) -> set[tuple[str, str, int]]:
    return {(f["ruleId"], f["path"], f["line"]) for f in doc["findings"]}


@pytest.fixture
def scan_tree(tmp_path):
    tree = tmp_path / "tree"
    _write(tree, SCAN_TREE)
    return tree


def _dot_config(tmp_path: Path, name: str, **values) -> str:
    p = tmp_path / name
    p.write_text("".join(f"CONFIG_{k}={v}\n" if v != "n" else f"# CONFIG_{k} is not set\n"
                         for k, v in values.items()))
    return str(p)


def test_scan_with_kconfig_keeps_what_the_config_builds(run_cli, scan_tree, tmp_path):
    plain = _scan(run_cli, scan_tree)
    assert _sites(plain) == {("AS002", "drivers/demo_a.c", 9), ("AS002", "drivers/demo_b.c", 8)}
    assert all("kconfig" not in f["properties"] for f in plain["findings"]) and "scope" not in plain["stats"]

    big = _dot_config(tmp_path, "big.config", DEMO_A="m", DEMO_A_BIGBUF="y", DEMO_B="n")
    doc = _scan(run_cli, scan_tree, "--kconfig", big)
    assert _sites(doc) == {("AS002", "drivers/demo_a.c", 9)}  # demo_b.c is not built; same line as without
    (finding,) = doc["findings"]
    assert finding["properties"]["kconfig"] == {"conditionals": ["CONFIG_DEMO_A_BIGBUF"], "builds": ["CONFIG_DEMO_A"]}
    scope = doc["stats"]["scope"]
    assert scope["cFiles"] == 1 and scope["droppedCFiles"] == 1 and scope["findingsDependingOnConfig"] == 1

    small = _dot_config(tmp_path, "small.config", DEMO_A="y", DEMO_B="y")
    doc = _scan(run_cli, scan_tree, "--kconfig", small)
    assert _sites(doc) == {("AS002", "drivers/demo_b.c", 8)}  # the GFP_ATOMIC branch is compiled
    assert doc["findings"][0]["properties"]["kconfig"] == {"conditionals": [], "builds": ["CONFIG_DEMO_B"]}

    text = run_cli("scan", str(scan_tree), "--fail-on", "none", "--kconfig", big).stdout
    assert "depends on the config: #if CONFIG_DEMO_A_BIGBUF; built with CONFIG_DEMO_A" in text
    sarif = json.loads(run_cli("scan", str(scan_tree), "--format", "sarif", "--fail-on", "none",
                               "--kconfig", big).stdout)
    assert sarif["runs"][0]["results"][0]["properties"]["kconfig"]["conditionals"] == ["CONFIG_DEMO_A_BIGBUF"]


def test_the_cache_keeps_each_config_apart(run_cli, scan_tree, tmp_path):
    cache = str(tmp_path / "facts")
    big = _dot_config(tmp_path, "big.config", DEMO_A="y", DEMO_A_BIGBUF="y", DEMO_B="y")
    small = _dot_config(tmp_path, "small.config", DEMO_A="y", DEMO_A_BIGBUF="n", DEMO_B="y")
    for _ in range(2):  # cold, then from the cache
        assert ("AS002", "drivers/demo_a.c", 9) in _sites(_scan(run_cli, scan_tree, "--cache-dir", cache, "--kconfig", big))
        assert ("AS002", "drivers/demo_a.c", 9) not in _sites(
            _scan(run_cli, scan_tree, "--cache-dir", cache, "--kconfig", small))
        plain = _scan(run_cli, scan_tree, "--cache-dir", cache)
        assert _sites(plain) == {("AS002", "drivers/demo_a.c", 9), ("AS002", "drivers/demo_b.c", 8)}
        assert all("kconfig" not in f["properties"] for f in plain["findings"])
    assert plain["stats"]["cached"] == 2


def test_scan_with_compile_commands(run_cli, scan_tree, tmp_path):
    db = tmp_path / "compile_commands.json"
    db.write_text(json.dumps([{"directory": str(scan_tree), "file": "drivers/demo_b.c", "command": "cc -c"}]))
    doc = _scan(run_cli, scan_tree, "--compile-commands", str(db))
    assert _sites(doc) == {("AS002", "drivers/demo_b.c", 8)}
    assert doc["stats"]["scope"]["droppedCFiles"] == 1
    db.write_text("[")
    proc = run_cli("scan", str(scan_tree), "--compile-commands", str(db))
    assert proc.returncode == 2 and "compile_commands.json: not JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_a_tree_without_kbuild_files_is_one_error_line(run_cli, tmp_path):
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "x.c").write_text("int x;\n")
    cfg = _dot_config(tmp_path, "c.config", DEMO_A="y")
    proc = run_cli("scan", str(tmp_path / "loose"), "--kconfig", cfg)
    assert proc.returncode == 2 and "no Kbuild or Makefile" in proc.stderr and "Traceback" not in proc.stderr


def test_headers_in_scope(tmp_path):
    """Headers under include/, under the build's architecture, and beside a built file stay."""
    from allocscan.scope import _header_kept

    root = tmp_path
    built_dirs = {root / "drivers" / "demo"}
    kept = lambda rel, arches={"x86"}: _header_kept(root / rel, root, arches, built_dirs)  # noqa: E731
    assert kept("include/linux/slab.h") and kept("arch/x86/include/asm/io.h")
    assert kept("drivers/demo/demo.h") and not kept("drivers/other/other.h")
    assert not kept("arch/arm/include/asm/io.h") and not kept("arch/x86/include/asm/io.h", set())
