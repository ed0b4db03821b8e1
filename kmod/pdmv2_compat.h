/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pdmv2: types and byte-order helpers shared by the kernel module and the
 * user-space test harness, so that pdmv2_core.c compiles unchanged in both.
 */
#ifndef PDMV2_COMPAT_H
#define PDMV2_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/string.h>
#include <linux/bitops.h>
#include <linux/limits.h>
#include <linux/math64.h>
#ifdef PDMV2_HAVE_LINUX_UNALIGNED_H	/* 6.12 and later, see Kbuild */
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* index of the highest set bit, 1-based; 0 for 0 */
static inline unsigned int pdmv2_fls32(u32 x)
{
	return fls(x);
}

static inline unsigned int pdmv2_fls64(u64 x)
{
	return fls64(x);
}

#else /* !__KERNEL__ */

#include <stdbool.h>
#include <stddef.h>
#if __STDC_HOSTED__
#include <string.h>
#else
/* freestanding build (32-bit cross-compile check of the core) */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif

/* the kernel's own definitions, valid for every Linux ABI (ILP32, LP64) */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef long long s64;
typedef unsigned short __be16;
typedef unsigned int __be32;

#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
/* the kernel's noinline (compiler_attributes.h), for the user-space build */
#define pdmv2_gcc_attribute(a) __attribute__((a))
#ifndef noinline
#define noinline pdmv2_gcc_attribute(__noinline__)
#endif

static inline unsigned int pdmv2_fls32(u32 x)
{
	return x ? 32 - (unsigned int)__builtin_clz(x) : 0;
}

static inline unsigned int pdmv2_fls64(u64 x)
{
	return x ? 64 - (unsigned int)__builtin_clzll(x) : 0;
}

static inline u16 get_unaligned_be16(const void *p)
{
	const u8 *b = p;

	return (u16)((u16)b[0] << 8 | b[1]);
}

static inline u32 get_unaligned_be32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

static inline void put_unaligned_be16(u16 v, void *p)
{
	u8 *b = p;

	b[0] = (u8)(v >> 8);
	b[1] = (u8)v;
}

static inline void put_unaligned_be32(u32 v, void *p)
{
	u8 *b = p;

	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
}

#ifndef U64_MAX
#define U64_MAX (~0ULL)
#endif

/* linux/math64.h: 64-bit by 32-bit division (a libgcc call on 32-bit) */
static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

#endif /* __KERNEL__ */

#endif /* PDMV2_COMPAT_H */
