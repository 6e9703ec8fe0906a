// SPDX-License-Identifier: GPL-2.0
/*
 * Demo corpus: memory preallocated before a lock is taken and handed to a
 * helper that allocates only when it is given none. The path validation must
 * know what the locked caller's local holds at the call: the result of an
 * allocation it checked (`if (!p) goto err;`), or, when it allocates only
 * under a condition, that result exactly when the condition holds. Written for
 * this project after the shape of a filesystem's extent-buffer set-up.
 */
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/err.h>

struct demo_fs {
	unsigned int nodesize;
	unsigned int sectorsize;
};

struct demo_sub {
	int refs;
};

struct demo_page {
	void *priv;
	int index;
};

struct demo_map {
	spinlock_t lock;
	struct demo_page pages[4];
	int count;
};

struct demo_buf {
	struct demo_fs *fs;
	unsigned long start;
	struct demo_page *page;
};

static struct kmem_cache *demo_buf_cache;

/* Never NULL: a sub-page record or an ERR_PTR. */
static struct demo_sub *demo_alloc_sub(struct demo_fs *fs)
{
	struct demo_sub *sub;

	sub = kzalloc(sizeof(*sub) + fs->sectorsize, GFP_NOFS);
	if (!sub)
		return ERR_PTR(-ENOMEM);
	sub->refs = 0;
	return sub;
}

/* A constructor: the buffer it returns belongs to the file system it is given. */
static struct demo_buf *demo_new_buf(struct demo_fs *fs, unsigned long start)
{
	struct demo_buf *buf;

	buf = kmem_cache_zalloc(demo_buf_cache, GFP_NOFS | __GFP_NOFAIL);
	buf->start = start;
	buf->fs = fs;
	return buf;
}

static struct demo_buf *demo_find_buf(struct demo_fs *fs, unsigned long start);

/* Allocates a sub-page record only when the caller preallocated none. */
static int demo_attach(struct demo_buf *buf, struct demo_page *page, struct demo_sub *prealloc)
{
	struct demo_fs *fs = buf->fs;

	if (fs->nodesize >= PAGE_SIZE) {
		page->priv = buf;
		return 0;
	}
	if (prealloc)
		page->priv = prealloc;
	else
		page->priv = demo_alloc_sub(fs);
	return 0;
}

/* 1. Preallocated under the very condition the helper allocates under. */
struct demo_buf *demo_get_buf(struct demo_fs *fs, struct demo_map *map, unsigned long start)
{
	struct demo_buf *buf;
	int i;

	buf = demo_find_buf(fs, start);
	if (buf)
		return buf;
	buf = demo_new_buf(fs, start);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < map->count; i++) {
		struct demo_sub *prealloc = NULL;

		if (fs->nodesize < PAGE_SIZE) {
			prealloc = demo_alloc_sub(fs);
			if (IS_ERR(prealloc))
				goto fail;
		}
		spin_lock(&map->lock);
		demo_attach(buf, &map->pages[i], prealloc); /* ok: AS002 (preallocated whenever it would allocate) */
		spin_unlock(&map->lock);
	}
	return buf;
fail:
	kmem_cache_free(demo_buf_cache, buf);
	return ERR_PTR(-ENOMEM);
}

/* 2. Preallocated and checked before the lock, on every path. */
int demo_map_page(struct demo_fs *fs, struct demo_map *map, struct demo_buf *buf)
{
	struct demo_sub *sub;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL);
	if (!sub)
		return -ENOMEM;
	spin_lock(&map->lock);
	demo_attach(buf, &map->pages[0], sub); /* ok: AS002 (checked non-NULL before the lock) */
	spin_unlock(&map->lock);
	return 0;
}

/* 3. Preallocated only for small nodes, but attached for any: a large-node
 * path passes NULL... and returns early in the helper; a small-node path
 * that skipped the preallocation cannot exist, so this is fine too. The bug
 * is the caller below, which never preallocates. */
int demo_map_clone(struct demo_fs *fs, struct demo_map *map, struct demo_buf *buf)
{
	spin_lock(&map->lock);
	demo_attach(buf, &map->pages[1], NULL); /* expect: AS002 */
	spin_unlock(&map->lock);
	return 0;
}

/* 4. Checked, but the check does not cover the path to the lock. */
int demo_map_maybe(struct demo_fs *fs, struct demo_map *map, struct demo_buf *buf, bool want)
{
	struct demo_sub *sub = NULL;

	if (want) {
		sub = kzalloc(sizeof(*sub), GFP_KERNEL);
		if (!sub)
			return -ENOMEM;
	}
	spin_lock(&map->lock);
	demo_attach(buf, &map->pages[2], sub); /* expect: AS002 */
	spin_unlock(&map->lock);
	return 0;
}

/* 5. Allocated under the condition and checked there: the path that reaches
 * the lock with nothing preallocated and a small node left at the check. */
int demo_map_small(struct demo_map *map, struct demo_buf *buf)
{
	struct demo_fs *fs = buf->fs;
	struct demo_sub *sub = NULL;

	if (fs->nodesize < PAGE_SIZE) {
		sub = kzalloc(sizeof(*sub), GFP_KERNEL);
		if (!sub)
			goto fail;
	}
	spin_lock(&map->lock);
	demo_attach(buf, &map->pages[3], sub); /* ok: AS002 (a small node always has its sub-page) */
	spin_unlock(&map->lock);
	return 0;
fail:
	return -ENOMEM;
}

/* 6. An early exit that jumps to a label before the lock: the locked call is
 * reached with either value of the condition. */
static void demo_fill(struct demo_map *map, int mode)
{
	if (mode == 0)
		map->pages[0].priv = kzalloc(64, GFP_KERNEL);
}

void demo_refill(struct demo_map *map, int mode)
{
	if (mode == 0) {
		map->count = 0;
		goto relock;
	}
	map->count = 1;
relock:
	spin_lock(&map->lock);
	demo_fill(map, mode); /* expect: AS002 */
	spin_unlock(&map->lock);
}
