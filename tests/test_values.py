"""Value analysis: intervals for size expressions, with sources and guards."""

from __future__ import annotations

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link


def sizes(*files: tuple[str, str]) -> dict[str, object]:
    """Size Value of every allocation, keyed by the function holding it."""
    facts = [extract_file(path, text.encode()) for path, text in files]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    return {s.function.name: s.size for s in analysis.sites if s.allocator}


HEADER = ("drv/demo.h", """
#define DEMO_RING	128
#define DEMO_SLOT(n)	((n) * 2 + 1)
enum demo_sizes { SMALL = 16, MEDIUM, LARGE = SZ_64K };
struct demo_hdr { u8 type; u32 len; u16 flags; };
struct demo_pkt { struct demo_hdr hdr; u8 data[DEMO_RING]; };
struct demo_flex { u32 count; u64 items[]; };
union demo_u { u8 b[3]; u32 w; };
""")


def test_constants_macros_enums_sizeof():
    v = sizes(HEADER, ("drv/a.c", """
void *f1(void) { return kmalloc(sizeof(struct demo_hdr), GFP_KERNEL); }
void *f2(void) { return kmalloc(sizeof(struct demo_pkt) * DEMO_RING, GFP_KERNEL); }
void *f3(void) { return kmalloc(LARGE + MEDIUM, GFP_KERNEL); }
void *f4(void) { return kmalloc(DEMO_SLOT(8) << PAGE_SHIFT, GFP_KERNEL); }
void *f5(struct demo_flex *p) { return kmalloc(struct_size(p, items, 10), GFP_KERNEL); }
void *f6(void) { return kmalloc(sizeof(union demo_u) + ALIGN(100, 64), GFP_KERNEL); }
void *f7(void) { return kmalloc(max_t(size_t, 2048, min(BIT(20), SZ_4K)), GFP_KERNEL); }
"""))
    assert (v["f1"].lo, v["f1"].hi) == (12, 12)
    assert (v["f2"].lo, v["f2"].hi) == (140 * 128, 140 * 128)
    assert v["f3"].hi == 65536 + 17
    assert v["f4"].hi == 17 << 12
    assert v["f5"].hi == 8 + 80
    assert v["f6"].hi == 4 + 128
    assert v["f7"].hi == 4096


def test_parameters_join_call_sites_and_guards_narrow():
    v = sizes(("drv/b.c", """
static void *get(size_t len) { return kmalloc(len, GFP_ATOMIC); }
void a(void) { get(100); }
void b(void) { get(SZ_1M); }
int c(u32 __user *up) {
	u32 n;
	if (get_user(n, up))
		return -EFAULT;
	if (n > 512 || !n)
		return -EINVAL;
	return kcalloc(n, 8, GFP_KERNEL) != NULL;
}
"""))
    assert (v["get"].lo, v["get"].hi) == (100, 1 << 20)
    assert (v["c"].lo, v["c"].hi) == (8, 4096)
    assert v["c"].sources  # still user-controlled, but bounded


def test_unknown_is_not_big():
    v = sizes(("drv/c.c", "void *f(struct x *p) { return kmalloc(p->len, GFP_ATOMIC); }"))
    assert not v["f"].known
