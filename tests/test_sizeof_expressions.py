"""sizeof of expressions through their declared types: a pointer member dereferenced
(`sizeof(*ring->desc)`), arrays kept apart from their element type (`u8 buf[64]`,
a file's table), indexing, `**pp`, members of anonymous structs, a member whose type
a macro's call names (`DEMO_LIST_ENTRY(node) link;`), a struct defined where it is used
(`struct { ... } *batch`), a flexible member behind a member path (`struct_size(w, msg.payload, n)`), ARRAY_SIZE of a global."""

from __future__ import annotations

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link

DRIVER = ("drivers/demo/sizes.c", """
struct demo_frame { unsigned char data[8192]; unsigned int crc; };
struct demo_hdr { unsigned int kind; };
struct demo_msg { struct demo_hdr h; unsigned char payload[]; };
struct demo_wrap { int seq; struct demo_msg msg; };
struct demo_ring {
	struct demo_frame *desc;
	struct demo_frame *slots[4];
	struct { struct demo_frame *spare; };
};
#define DEMO_LIST_ENTRY(type) struct { struct type *next; struct type **prev; }
struct demo_node { DEMO_LIST_ENTRY(demo_node) link; struct demo_frame frame; };
static unsigned char demo_fw[32768];
static struct demo_frame *demo_frames[8];

void *member_deref(struct demo_ring *ring) { return kmalloc(sizeof(*ring->desc), GFP_ATOMIC); }
void *member_array(struct demo_ring *ring) { return kmalloc(sizeof(ring->slots), GFP_ATOMIC); }
void *member_element(struct demo_ring *ring) { return kmalloc(sizeof(*ring->slots[1]), GFP_ATOMIC); }
void *anonymous_member(struct demo_ring *ring) { return kmalloc(sizeof(*ring->spare), GFP_ATOMIC); }
void *global_array(void) { return kmalloc(sizeof(demo_fw), GFP_ATOMIC); }
void *global_element(void) { return kmalloc(sizeof(*demo_frames[0]), GFP_ATOMIC); }
void *double_pointer(struct demo_frame **pp) { return kmalloc(sizeof(**pp), GFP_ATOMIC); }
void *local_array(void) { unsigned short words[300]; return kmemdup(words, sizeof(words), GFP_ATOMIC); }
void *local_row(void) { unsigned int grid[4][10]; return kmemdup(grid[0], sizeof(grid[0]), GFP_ATOMIC); }
void *flexible_path(struct demo_wrap *w, int n) { return kmalloc(struct_size(w, msg.payload, 100), GFP_ATOMIC); }
void *array_length(void) { return kmalloc(ARRAY_SIZE(demo_fw), GFP_ATOMIC); }
void *inline_struct(void) {
	struct { struct demo_hdr h; struct demo_frame frames[4]; } *batch;
	return kmalloc(sizeof(*batch), GFP_ATOMIC);
}
void *inline_union(void) { union { unsigned int word; struct demo_frame frame; } *u; return kmalloc(sizeof(*u), GFP_ATOMIC); }
void *macro_type_member(struct demo_node *n) { return kmalloc(sizeof(*n) * 2, GFP_ATOMIC); }
void *pointer_to_rows(void) { unsigned int (*rows)[16] = 0; return kmalloc(sizeof(rows), GFP_ATOMIC); }
""")


def sizes() -> dict[str, object]:
    facts = [extract_file(DRIVER[0], DRIVER[1].encode())]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    return {s.function.name: s.size for s in analysis.sites if s.allocator}


def exact(value) -> int | None:
    return value.hi if value.known and value.lo == value.hi else None


def test_sizeof_of_expressions_reads_their_declared_types():
    got = {name: exact(v) for name, v in sizes().items()}
    assert got == {
        "member_deref": 8196,
        "member_array": 32,           # four pointers
        "member_element": 8196,
        "anonymous_member": 8196,
        "global_array": 32768,
        "global_element": 8196,
        "double_pointer": 8196,
        "local_array": 600,
        "local_row": 40,              # one row of ten
        "flexible_path": 8 + 100,     # sizeof(struct demo_wrap) + 100 bytes of payload
        "array_length": 32768,
        "inline_struct": 4 + 4 * 8196,
        "inline_union": 8196,
        "macro_type_member": 2 * (16 + 8196 + 4),  # two pointers, the frame, padding to 8
        "pointer_to_rows": 8,         # a pointer, not an array of 16
    }


CONSTANTS = ("drivers/demo/cmd.c", """
#define DEMO_MAX_ADDRS 32
#define DEMO_SPARE_HDR 8 // reserved by the firmware
struct demo_cmd { unsigned short size; unsigned short action; unsigned char addrs[6 * DEMO_MAX_ADDRS]; };
struct demo_ext { unsigned long long cookie; unsigned char len; };

static int demo_mtu_of(int mode)
{
	switch (mode) {
	case 1: return 256;
	case 2: return 1024;
	default: return -1;
	}
}

static void *element_offset(unsigned int nr)
{
	unsigned int size = offsetof(struct demo_cmd,
				     addrs[6 * nr]);
	return kmalloc(size, GFP_ATOMIC);
}
void *three(void) { return element_offset(3); }
void *all(void) { return element_offset(DEMO_MAX_ADDRS); }
static void *aligned(unsigned int len) { return kmalloc(ALIGN(len, __alignof__(struct demo_ext)), GFP_ATOMIC); }
void *aligned_100(void) { return aligned(100); }
void *commented_define(void) { return kmalloc(DEMO_SPARE_HDR + 64, GFP_ATOMIC); }
void *minus_one_is_an_error(int mode) { return kmalloc(demo_mtu_of(mode), GFP_ATOMIC); }
""")


def test_constants_tree_sitter_reads_oddly():
    """offsetof() of an array element (tree-sitter's offsetof takes a member name only and
    cuts the call short), __alignof__(type), a `#define` whose value ends in a `//`
    comment, and `return -1;` (one literal to tree-sitter: an error code like -EINVAL)."""
    facts = [extract_file(CONSTANTS[0], CONSTANTS[1].encode())]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    got = {s.function.name: s.size for s in analysis.sites if s.allocator}
    assert (got["element_offset"].known, got["element_offset"].lo, got["element_offset"].hi) == (
        True, 4 + 6 * 3, 4 + 6 * 32)
    assert exact(got["aligned"]) == 104
    assert exact(got["commented_define"]) == 72
    assert (got["minus_one_is_an_error"].known, got["minus_one_is_an_error"].lo,
            got["minus_one_is_an_error"].hi) == (True, 256, 1024)


def test_an_array_sized_by_its_initializer_has_as_many_elements():
    """`static const struct demo_stat demo_stats[] = { DEMO_STAT(a), ... };`: ARRAY_SIZE
    and sizeof count the elements, each macro call one. Designated elements (`[5] = x`)
    are not counted: their largest index decides, which this does not read."""
    source = """
struct demo_stat { char name[32]; int offset; };
#define DEMO_STAT(x) { #x, 0 }
static const struct demo_stat demo_stats[] = { DEMO_STAT(a), DEMO_STAT(b), /* one more */ DEMO_STAT(c) };
static const u8 demo_hdr[] = { 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00 };
static int demo_idx[] = { [3] = 1, [5] = 2 };
void *stats(void) { return kmalloc(ARRAY_SIZE(demo_stats) * 4096, GFP_ATOMIC); }
void *header(void) { return kmalloc(sizeof(demo_hdr), GFP_ATOMIC); }
void *designated(void) { return kmalloc(sizeof(demo_idx), GFP_ATOMIC); }
void *local(void) { static const char tbl[] = { 1, 2, 3, 4 }; return kmalloc(sizeof(tbl) * 100, GFP_ATOMIC); }
"""
    analysis = analyze(link([extract_file("drivers/demo/tables.c", source.encode())]), builtin_kernel("6.1"))
    got = {s.function.name: s.size for s in analysis.sites}
    assert (got["stats"].hi, got["header"].hi, got["local"].hi) == (3 * 4096, 6, 400)
    assert not got["designated"].known


CONDITIONAL_MEMBERS = ("drivers/demo/station.c", """
enum demo_queue { DEMO_Q_BE, DEMO_Q_VI, __DEMO_Q_MAX
#define DEMO_Q_MAX __DEMO_Q_MAX
};
/* a value kept for reference, not a definition:
#define DEMO_OLD_SLOTS 4096 */
#define DEMO_OLD_SLOTS 2
typedef void (DEMO_CALLCONV *demo_cb_t)(void *ctx);
struct demo_mesh { unsigned char path[1024]; };
struct demo_sta {
	int aid;
#ifdef CONFIG_DEMO_MESH
	struct demo_mesh *mesh;
	unsigned char plink[2048];
#else
	unsigned char no_mesh[16];
#endif
#if 0
	unsigned char never[65536];
#endif
	unsigned long long queued[DEMO_Q_MAX];
	demo_cb_t done;
	int slots[DEMO_OLD_SLOTS];
#ifdef CONFIG_LOCKDEP
	unsigned char dep_map[4096];
#endif
#ifndef CONFIG_64BIT
	unsigned int word;
#else
	unsigned long word;
#endif
};
struct demo_iph {
#if defined(__LITTLE_ENDIAN_BITFIELD)
	u8 ihl:4, version:4;
#elif defined(__BIG_ENDIAN_BITFIELD)
	u8 version:4, ihl:4;
#else
#error "endianness"
#endif
	u8 tos;
	__be16 tot_len;
};
void *new_sta(void) { return kzalloc(sizeof(struct demo_sta), GFP_ATOMIC); }
void *new_headers(void) { return kmalloc(sizeof(struct demo_iph) * 1024, GFP_ATOMIC); }
void *new_mesh(struct demo_sta *sta) { return kzalloc(sizeof(*sta->mesh), GFP_ATOMIC); }
""")


def test_members_under_a_conditional_and_macros_the_grammar_loses():
    """A struct's members under `#ifdef CONFIG_...` are laid out, those of every branch
    (the size is a bound over configurations) but `#if 0`'s, and found by name, except
    where a distribution's kernel decides the option (lockdep off, 64-bit, little-endian
    bit-fields: one arm of the pair, or struct iphdr would be 24 bytes); a
    `#define` inside an enum's body (an ERROR to tree-sitter) is read from the text,
    a `#define` inside a comment is not; a function pointer typedef with a
    calling-convention macro is a pointer."""
    facts = [extract_file(CONDITIONAL_MEMBERS[0], CONDITIONAL_MEMBERS[1].encode())]
    assert facts[0].defines["DEMO_Q_MAX"] == "__DEMO_Q_MAX"
    assert facts[0].defines["DEMO_OLD_SLOTS"] == "2"
    assert facts[0].typedefs["demo_cb_t"].endswith("*")
    got = {s.function.name: exact(s.size) for s in analyze(link(facts), builtin_kernel("6.1")).sites}
    # aid 4, pad 4, mesh 8, plink 2048, no_mesh 16, queued 2 * 8, done 8, slots 2 * 4, word 8
    assert got == {"new_sta": 4 + 4 + 8 + 2048 + 16 + 16 + 8 + 8 + 8, "new_mesh": 1024, "new_headers": 4 * 1024}


def test_sizeof_a_global_array_declared_in_a_header():
    """`sizeof(demo_llc_header)` of an array the file only sees as `extern const u8
    demo_llc_header[6];` in a header: its dimensions there."""
    header = ("include/net/demo80211.h", "extern const unsigned char demo_llc_header[6];\n")
    driver = ("drivers/net/wireless/demo/cmd.c", """
#include <net/demo80211.h>
struct demo_tmpl { unsigned char llc[sizeof(demo_llc_header)]; unsigned short type; };
void *build(void) { return kmalloc(sizeof(demo_llc_header) + sizeof(struct demo_tmpl), GFP_ATOMIC); }
""")
    facts = [extract_file(p, t.encode()) for p, t in (header, driver)]
    (site,) = [s for s in analyze(link(facts), builtin_kernel("6.1")).sites if s.allocator]
    assert exact(site.size) == 6 + 8


def test_a_constant_the_build_generates_is_the_expression_it_stands_for():
    """MAX_NR_ZONES comes from include/generated/bounds.h, which a source tree lacks:
    the tables say it is __MAX_NR_ZONES, the enumerator that counts the zones."""
    source = ("mm/demo_walk.c", """
enum zone_type { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, __MAX_NR_ZONES };
struct demo_walk { int nr_pages[4][2][MAX_NR_ZONES]; unsigned long seq; };
void *new_walk(void) { return kzalloc(sizeof(struct demo_walk), GFP_ATOMIC); }
""")
    (site,) = analyze(link([extract_file(source[0], source[1].encode())]), builtin_kernel("6.1")).sites
    assert exact(site.size) == 4 * 4 * 2 * 4 + 8
