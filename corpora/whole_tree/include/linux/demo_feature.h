/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEMO_FEATURE_H
#define DEMO_FEATURE_H

/* the board code of this tree has the fast path */
#define DEMO_HAVE_FASTPATH 1

#endif
