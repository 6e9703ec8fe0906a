"""GFP tables: built-in values match headers written in both forms, and the
mode prints as warn_alloc() prints it."""

from __future__ import annotations

from allocscan.kernel.gfp import GfpTable, parse_gfp_header

HEX_HEADER_4_9 = """
#define ___GFP_DMA		0x01u
#define ___GFP_HIGHMEM		0x02u
#define ___GFP_DMA32		0x04u
#define ___GFP_MOVABLE		0x08u
#define ___GFP_RECLAIMABLE	0x10u
#define ___GFP_HIGH		0x20u
#define ___GFP_IO		0x40u
#define ___GFP_FS		0x80u
#define ___GFP_COLD		0x100u
#define ___GFP_NOWARN		0x200u
#define ___GFP_REPEAT		0x400u
#define ___GFP_NOFAIL		0x800u
#define ___GFP_NORETRY		0x1000u
#define ___GFP_MEMALLOC		0x2000u
#define ___GFP_COMP		0x4000u
#define ___GFP_ZERO		0x8000u
#define ___GFP_NOMEMALLOC	0x10000u
#define ___GFP_HARDWALL		0x20000u
#define ___GFP_THISNODE		0x40000u
#define ___GFP_ATOMIC		0x80000u
#define ___GFP_ACCOUNT		0x100000u
#define ___GFP_NOTRACK		0x200000u
#define ___GFP_DIRECT_RECLAIM	0x400000u
#define ___GFP_OTHER_NODE	0x800000u
#define ___GFP_WRITE		0x1000000u
#define ___GFP_KSWAPD_RECLAIM	0x2000000u
#define __GFP_HIGH	((__force gfp_t)___GFP_HIGH)
#define __GFP_ATOMIC	((__force gfp_t)___GFP_ATOMIC)
#define __GFP_IO	((__force gfp_t)___GFP_IO)
#define __GFP_FS	((__force gfp_t)___GFP_FS)
#define __GFP_COMP	((__force gfp_t)___GFP_COMP)
#define __GFP_ZERO	((__force gfp_t)___GFP_ZERO)
#define __GFP_NOWARN	((__force gfp_t)___GFP_NOWARN)
#define __GFP_COLD	((__force gfp_t)___GFP_COLD)
#define __GFP_DIRECT_RECLAIM	((__force gfp_t)___GFP_DIRECT_RECLAIM)
#define __GFP_KSWAPD_RECLAIM	((__force gfp_t)___GFP_KSWAPD_RECLAIM)
#define __GFP_RECLAIM ((__force gfp_t)(___GFP_DIRECT_RECLAIM|___GFP_KSWAPD_RECLAIM))
#define GFP_ATOMIC	(__GFP_HIGH|__GFP_ATOMIC|__GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL	(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_NOWAIT	(__GFP_KSWAPD_RECLAIM)
"""

ENUM_HEADER_6_12 = """
enum {
	___GFP_DMA_BIT,
	___GFP_HIGHMEM_BIT,
	___GFP_DMA32_BIT,
	___GFP_MOVABLE_BIT,
	___GFP_RECLAIMABLE_BIT,
	___GFP_HIGH_BIT,
	___GFP_IO_BIT,
	___GFP_FS_BIT,
	___GFP_ZERO_BIT,
	___GFP_UNUSED_BIT,	/* 0x200u unused */
	___GFP_DIRECT_RECLAIM_BIT,
	___GFP_KSWAPD_RECLAIM_BIT,
	___GFP_WRITE_BIT,
	___GFP_NOWARN_BIT,
	___GFP_RETRY_MAYFAIL_BIT,
	___GFP_NOFAIL_BIT,
	___GFP_NORETRY_BIT,
	___GFP_MEMALLOC_BIT,
	___GFP_COMP_BIT,
	___GFP_NOMEMALLOC_BIT,
	___GFP_HARDWALL_BIT,
	___GFP_THISNODE_BIT,
	___GFP_ACCOUNT_BIT,
	___GFP_ZEROTAGS_BIT,
#ifdef CONFIG_KASAN_HW_TAGS
	___GFP_SKIP_ZERO_BIT,
	___GFP_SKIP_KASAN_BIT,
#endif
#ifdef CONFIG_LOCKDEP
	___GFP_NOLOCKDEP_BIT,
#endif
	___GFP_LAST_BIT
};
#define ___GFP_HIGH		BIT(___GFP_HIGH_BIT)
#define ___GFP_IO		BIT(___GFP_IO_BIT)
#define ___GFP_FS		BIT(___GFP_FS_BIT)
#define ___GFP_ZERO		BIT(___GFP_ZERO_BIT)
#define ___GFP_DIRECT_RECLAIM	BIT(___GFP_DIRECT_RECLAIM_BIT)
#define ___GFP_KSWAPD_RECLAIM	BIT(___GFP_KSWAPD_RECLAIM_BIT)
#define ___GFP_NOWARN		BIT(___GFP_NOWARN_BIT)
#define ___GFP_COMP		BIT(___GFP_COMP_BIT)
#ifdef CONFIG_LOCKDEP
#define ___GFP_NOLOCKDEP	BIT(___GFP_NOLOCKDEP_BIT)
#else
#define ___GFP_NOLOCKDEP	0
#endif
#define __GFP_HIGH	((__force gfp_t)___GFP_HIGH)
#define __GFP_IO	((__force gfp_t)___GFP_IO)
#define __GFP_FS	((__force gfp_t)___GFP_FS)
#define __GFP_ZERO	((__force gfp_t)___GFP_ZERO)
#define __GFP_COMP	((__force gfp_t)___GFP_COMP)
#define __GFP_NOWARN	((__force gfp_t)___GFP_NOWARN)
#define __GFP_NOLOCKDEP ((__force gfp_t)___GFP_NOLOCKDEP)
#define __GFP_DIRECT_RECLAIM	((__force gfp_t)___GFP_DIRECT_RECLAIM)
#define __GFP_KSWAPD_RECLAIM	((__force gfp_t)___GFP_KSWAPD_RECLAIM)
#define __GFP_RECLAIM ((__force gfp_t)(___GFP_DIRECT_RECLAIM|___GFP_KSWAPD_RECLAIM))
#define GFP_ATOMIC	(__GFP_HIGH|__GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL	(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
"""


def test_hex_form_matches_builtin_4_9():
    parsed = parse_gfp_header(HEX_HEADER_4_9, "include/linux/gfp.h")
    builtin = GfpTable.builtin("4.9")
    for name in ("GFP_ATOMIC", "GFP_KERNEL", "GFP_NOWAIT", "__GFP_COMP", "__GFP_NOWARN", "__GFP_ZERO"):
        assert parsed.masks[name] == builtin.masks[name], name
    assert builtin.format_mode(builtin.masks["GFP_ATOMIC"] | builtin.masks["__GFP_COMP"]) == "0x2084020(GFP_ATOMIC|__GFP_COMP)"


def test_enum_form_matches_builtin_6_12():
    parsed = parse_gfp_header(ENUM_HEADER_6_12, "include/linux/gfp_types.h")
    builtin = GfpTable.builtin("6.12")
    for name in ("GFP_ATOMIC", "GFP_KERNEL", "__GFP_COMP", "__GFP_NOWARN", "__GFP_ZERO", "__GFP_DIRECT_RECLAIM"):
        assert parsed.masks[name] == builtin.masks[name], name
    assert parsed.masks["__GFP_NOLOCKDEP"] == 0  # config option off
    assert parsed.masks["GFP_ATOMIC"] == 0x820


def test_builtin_tables_known_values():
    expect = {"4.14": (0x1080020, 0x14000c0), "4.19": (0x480020, 0x6000c0), "5.10": (0xa20, 0xcc0),
              "6.1": (0xa20, 0xcc0), "6.6": (0x820, 0xcc0), "6.12": (0x820, 0xcc0)}
    for version, (atomic, kernel) in expect.items():
        t = GfpTable.builtin(version)
        assert (t.masks["GFP_ATOMIC"], t.masks["GFP_KERNEL"]) == (atomic, kernel), version
    t = GfpTable.builtin("6.1")
    assert t.format_mode(t.masks["GFP_KERNEL"] | t.masks["__GFP_ZERO"]) == "0xdc0(GFP_KERNEL|__GFP_ZERO)"
    assert t.format_mode(t.masks["GFP_KERNEL"] | t.masks["__GFP_HARDWALL"]) == "0x100cc0(GFP_USER)"
    assert t.format_mode(0) == "0x0()"
    assert not t.allows_blocking(t.masks["GFP_ATOMIC"]) and t.allows_blocking(t.masks["GFP_NOIO"])
