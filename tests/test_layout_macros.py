"""Struct layouts through the preprocessor: struct tags and types an object-like macro
names, members a macro declares (expanded with the scanned tree's own definition),
array dimensions several macros deep, offsetof() in a dimension."""

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


def exact(value) -> int | None:
    return value.hi if value.known and value.lo == value.hi else None


# The shared headers of a small tree: helpers shaped like the kernel's, our own names.
TYPES_H = ("include/linux/demo_types.h", """
struct demo_callback_head {
	struct demo_callback_head *next;
	void (*func)(struct demo_callback_head *head);
} __attribute__((aligned(sizeof(void *))));
#define demo_rcu_head demo_callback_head
#define demo_pgoff_t unsigned long
#define __demo_aligned_u64 __u64 __attribute__((aligned(8)))
""")

STDDEF_H = ("include/linux/demo_stddef.h", """
#define __demo_group_tag(TAG) TAG
#define __demo_group(TAG, NAME, ATTRS, MEMBERS...) \\
	union { \\
		struct { MEMBERS } ATTRS; \\
		struct __demo_group_tag(TAG) { MEMBERS } ATTRS NAME; \\
	} ATTRS
#define demo_group(NAME, MEMBERS...) \\
	__demo_group(/* no tag */, NAME, /* no attrs */, MEMBERS)
#define DEMO_FLEX_ARRAY(TYPE, NAME) \\
	struct { \\
		struct { } __empty_ ## NAME; \\
		TYPE NAME[]; \\
	}
""")

BITS_H = ("include/linux/demo_bits.h", """
#define DEMO_BITS_PER_BYTE 8
#define DEMO_BITS_PER_TYPE(type) (sizeof(type) * DEMO_BITS_PER_BYTE)
#define __DEMO_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define DEMO_BITS_TO_LONGS(nr) __DEMO_DIV_ROUND_UP(nr, DEMO_BITS_PER_TYPE(long))
#define DEMO_DECLARE_BITMAP(name, bits) unsigned long name[DEMO_BITS_TO_LONGS(bits)]
""")


def test_a_struct_tag_an_object_like_macro_renames_is_the_struct_it_names():
    """`struct demo_rcu_head` is `struct demo_callback_head` once the preprocessor ran."""
    v = sizes(TYPES_H, ("drivers/demo/obj.c", """
struct demo_obj { u32 id; struct demo_rcu_head rcu; };
void *f(void) { return kmalloc(sizeof(struct demo_obj), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 24


def test_types_an_object_like_macro_names():
    """A member typed by a macro standing for a type, and a bare member macro that
    declares a whole member (`DEMO_HDR;`)."""
    v = sizes(TYPES_H, ("drivers/demo/page.c", """
struct demo_hdr { u32 op; u32 len; };
#define DEMO_HDR struct demo_hdr hdr
struct demo_page { demo_pgoff_t index; u8 flag; __demo_aligned_u64 cookie; };
struct demo_req { DEMO_HDR; u16 tag; };
void *f(void) { return kmalloc(sizeof(struct demo_page), GFP_ATOMIC); }
void *g(void) { return kmalloc(sizeof(struct demo_req), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 24
    assert exact(v["g"]) == 12


def test_a_member_a_macro_declares_is_its_expansion():
    """`DEMO_STAT(rx_packets);` expands (token pasting included) to a union of a counter
    and its atomic twin: eight bytes, laid out as the tree's macro says."""
    v = sizes(("drivers/net/demo/stats.h", """
#define DEMO_STAT(FIELD) \\
	union { \\
		unsigned long FIELD; \\
		atomic_long_t __##FIELD; \\
	}
struct demo_stats {
	DEMO_STAT(rx_packets);
	DEMO_STAT(tx_packets);
	DEMO_STAT(rx_dropped);
};
"""), ("drivers/net/demo/stats.c", """
struct demo_priv { struct demo_stats stats[64]; u32 flags; };
void *f(void) { return kzalloc(sizeof(struct demo_priv), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 64 * 24 + 8


def test_a_member_group_macro_lays_its_members_out_once():
    """A struct_group-like macro holds declarations (the parser splits its call at each
    `;`): it expands to a union of the members and a named copy, the size of one set."""
    v = sizes(STDDEF_H, ("drivers/net/demo/hdr.c", """
struct demo_iphdr {
	u8 ihl;
	u8 tos;
	__be16 tot_len;
	demo_group(addrs,
		__be32 saddr;
		__be32 daddr;
	);
	u16 check;
};
struct demo_frame { u32 len; DEMO_FLEX_ARRAY(u8, payload); };
void *f(void) { return kmalloc(sizeof(struct demo_iphdr) * 100, GFP_ATOMIC); }
void *g(void) { return kmalloc(sizeof(struct demo_frame), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 16 * 100
    assert exact(v["g"]) == 4


def test_a_dimension_several_macros_deep_is_evaluated():
    """`DEMO_BITS_TO_LONGS(256)` is three macros deep and passes a type to sizeof: a
    dimension gets the hops a kernel constant takes, and a type argument stays a type."""
    v = sizes(BITS_H, ("drivers/gpu/demo/hdmi.c", """
struct demo_hdmi_info {
	unsigned long y420_modes[DEMO_BITS_TO_LONGS(256)];
	DEMO_DECLARE_BITMAP(caps, 130);
	u8 max_tmds;
};
void *f(void) { return kmalloc(sizeof(struct demo_hdmi_info), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 4 * 8 + 3 * 8 + 8


def test_a_named_constant_passed_to_a_macro_that_parenthesizes_it_is_a_value():
    """`DEMO_BITS_TO_LONGS(DEMO_NUM_TIDS)` expands to `(((DEMO_NUM_TIDS) + (...) - 1) / ...)`,
    which a parser reads as a cast of `+(...)` to a type named DEMO_NUM_TIDS unless the
    argument keeps parentheses of its own; a size written with the tree's own rounding
    macro around a named constant is the rounded constant, not the rounding alone."""
    v = sizes(BITS_H, ("drivers/net/demo/tid.c", """
#define DEMO_NUM_TIDS 16
#define DEMO_RING_BYTES (64 * 1024 + 64)
#define DEMO_ROUND_UP(n, d) ((((n) + (d) - 1) / (d)) * (d))
struct demo_tid_state { unsigned long expired[DEMO_BITS_TO_LONGS(DEMO_NUM_TIDS)]; u32 n; };
void *f(void) { return kmalloc(sizeof(struct demo_tid_state), GFP_ATOMIC); }
void *g(void) { return kmalloc(DEMO_ROUND_UP(DEMO_RING_BYTES, 4096), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 16
    assert exact(v["g"]) == 69632


def test_an_enumerator_past_an_ifdef_and_a_define_in_its_list():
    """An enum counting resources across an `#ifdef` block and a `#define` inside the
    list (every configuration's enumerators, as a struct's members)."""
    v = sizes(("include/linux/demo_bus.h", """
enum {
	DEMO_STD_RESOURCES,
	DEMO_STD_RESOURCE_END = DEMO_STD_RESOURCES + 6 - 1,
	DEMO_ROM_RESOURCE,
#ifdef CONFIG_DEMO_IOV
	DEMO_IOV_RESOURCES,
	DEMO_IOV_RESOURCE_END = DEMO_IOV_RESOURCES + 6 - 1,
#endif
#define DEMO_BRIDGE_WINDOW (DEMO_BRIDGE_RESOURCES + 0)
	DEMO_BRIDGE_RESOURCES,
	DEMO_BRIDGE_RESOURCE_END = DEMO_BRIDGE_RESOURCES + 4 - 1,
	DEMO_NUM_RESOURCES,
	DEMO_COUNT_RESOURCE = DEMO_NUM_RESOURCES,
};
struct demo_resource { u64 start; u64 end; };
struct demo_dev { u32 irq; struct demo_resource resource[DEMO_COUNT_RESOURCE]; };
"""), ("drivers/demo/bus.c", """
void *f(void) { return kmalloc(sizeof(struct demo_dev), GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 8 + 17 * 16


def test_offsetof_and_token_pasting_in_sizes():
    """A dimension `offsetof(struct demo_alg, base)` (an instance's head room before the
    algorithm it wraps) and a macro pasting a struct's name (`demo_##typ##_bits`)."""
    v = sizes(("include/demo/alg.h", """
struct demo_base { char name[64]; u32 flags; };
struct demo_alg { int (*init)(void *tfm); u32 ivsize; struct demo_base base; };
struct demo_instance {
	void (*free)(struct demo_instance *inst);
	union {
		struct { char head[offsetof(struct demo_alg, base)]; struct demo_base base; } s;
		struct demo_alg alg;
	};
};
struct demo_fte_match_bits { u8 outer[512]; u8 misc[512]; };
#define DEMO_ST_SZ_DW(typ) (sizeof(struct demo_##typ##_bits) / 32)
struct demo_spec { u32 match_value[DEMO_ST_SZ_DW(fte_match)]; };
"""), ("drivers/demo/inst.c", """
void *f(void) { return kzalloc(sizeof(struct demo_instance), GFP_ATOMIC); }
void *g(void) { return kzalloc(sizeof(struct demo_spec), GFP_ATOMIC); }
void *h(void) { return kzalloc(offsetof(struct demo_alg, base) + 100, GFP_ATOMIC); }
"""))
    assert exact(v["f"]) == 8 + 12 + 68
    assert exact(v["g"]) == 32 * 4
    assert exact(v["h"]) == 112


def test_offsetof_offsetofend_and_sizeof_field_of_a_member_path():
    """`offsetofend(struct demo_mgmt, u.action.u.mesh)`: a member path through a union and
    nested structs (a management frame's header up to one action's body), and the size of
    one member, arrays included. tree-sitter's own `offsetof` takes one member name only:
    a path in a macro's body is read from the text."""
    v = sizes(("include/demo/frame.h", """
struct demo_mgmt {
	u16 frame_control;
	u8 da[6];
	union {
		struct { u16 reason; } deauth;
		struct {
			u8 category;
			union {
				struct { u8 action; u8 ttl; u8 flags[3]; } mesh;
				struct { u8 action; u32 token; } plink;
			} u;
		} action;
	} u;
};
"""), ("drivers/demo/mesh.c", """
void *end_of_mesh(void) { return kmalloc(offsetofend(struct demo_mgmt, u.action.u.mesh) + 37, GFP_ATOMIC); }
#define DEMO_PLINK_HDR (offsetof(struct demo_mgmt, u.action.u.plink.token) + 4)
void *start_of_plink(void) { return kmalloc(DEMO_PLINK_HDR, GFP_ATOMIC); }
void *flags_size(void) { return kmalloc(sizeof_field(struct demo_mgmt, u.action.u.mesh.flags) * 1000, GFP_ATOMIC); }
"""))
    # u starts at 8 (u16 + u8[6]); action.u at 8 + 4 (the plink struct's u32 aligns it to 4)
    assert exact(v["end_of_mesh"]) == 12 + 5 + 37
    assert exact(v["start_of_plink"]) == 12 + 4 + 4
    assert exact(v["flags_size"]) == 3000


def test_integer_types_with_their_words_in_another_order():
    """C lets an integer type's words come in any order: `long unsigned int` is an
    unsigned long, `short unsigned int` an unsigned short (the spellings of generated
    and older headers)."""
    got = sizes(("drivers/demo/words.c", """
struct demo_words { long unsigned int a; short unsigned int b; signed long long c; char unsigned d; };
void *words(void) { return kmalloc(sizeof(struct demo_words) * 512, GFP_ATOMIC); }
"""))
    assert exact(got["words"]) == 32 * 512


def test_an_inline_struct_with_a_tag_an_enum_typedef_and_a_type_a_macro_call_defines():
    """`struct demo_sol { ... } *sol;` declared in the function (a tag before the brace),
    `typedef enum { ... } demo_prio_t;` (an int), and seqcount_spinlock_t, which a
    file-scope macro call defines (SEQCOUNT_LOCKNAME): laid out as without lockdep."""
    got = sizes(("drivers/demo/inline.c", """
typedef enum { DEMO_LOW = 1, DEMO_HIGH } demo_prio_t;
struct demo_session { demo_prio_t prio; seqcount_spinlock_t seq; unsigned char data[1000]; };
void *tagged_inline(void)
{
	struct demo_sol { unsigned int kind; struct { unsigned short a; unsigned short b; } desc; } *sol;
	return kmalloc(sizeof(*sol) * 1024, GFP_ATOMIC);
}
void *session(void) { return kzalloc(sizeof(struct demo_session) * 40, GFP_ATOMIC); }
"""))
    assert exact(got["tagged_inline"]) == 8 * 1024
    assert exact(got["session"]) == 1008 * 40


def test_struct_tags_a_macro_defines_lay_out_as_the_tables_say():
    """`struct ewma_signal` (a file-scope DECLARE_EWMA(signal, ...)) and `struct kfifo`
    (declared with a macro for its body): no struct definition names them, so the tables
    say what they lay out as: an unsigned long, a struct __kfifo."""
    source = """
struct __kfifo { unsigned int in; unsigned int out; unsigned int mask; unsigned int esize; void *data; };
struct demo_link { struct ewma_signal avg_signal; struct kfifo fifo; unsigned char addr[6]; };
void *new_link(void) { return kzalloc(sizeof(struct demo_link), GFP_ATOMIC); }
"""
    analysis = analyze(link([extract_file("drivers/demo/link.c", source.encode())]), builtin_kernel("6.1"))
    (site,) = [s for s in analysis.sites if s.allocator]
    assert (site.size.known, site.size.hi) == (True, 8 + 24 + 6 + 2)
