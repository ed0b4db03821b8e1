/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the pdmv2 test programs (test_core, test_crypto) share: the check
 * counters and their "N passed, M failed" summary, the run of vector
 * sections and unit tests, the "--seeds DIR" option, hex conversion, typed
 * access to the vectors' JSON members and option fields by their vector
 * names.
 */
#ifndef PDMV2_TEST_HARNESS_H
#define PDMV2_TEST_HARNESS_H

#include "../pdmv2_core.h"
#include "json.h"

/* Count one check; print "FAIL: " and the message when @ok is false. */
void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "N passed, M failed"; the exit status: 1 on any failure. */
int check_summary(void);

/* Run the @n unit tests in order, then check_summary(). */
int run_units(void (*const *units)(void), size_t n);

/* DIR of "--seeds DIR" when that is what argv[@at] starts, else NULL. */
const char *seeds_dir(int argc, char **argv, int at);

/* Decode hex @s (NULL allowed) into a fresh buffer; length or -1. */
long unhex(const char *s, u8 **out);

/* Hex of @b (at most 128 octets); four calls may be live at once. */
const char *tohex(const u8 *b, size_t n);

/* String member @key of @o, or NULL. */
const char *str(const struct json *o, const char *key);

/* Decimal number member @key of @o into @v: 1, or 0 when it is not one. */
int num(const struct json *o, const char *key, unsigned long long *v);

/* One section of a vector file: a member of its root and its test. */
struct vector_section {
	const char *key;	/* member of the root */
	void (*test)(const struct json *member);
	const char *label;	/* in the counts line; NULL: not counted */
	const char *count_of;	/* member of it counted; NULL: itself */
};

/*
 * Run the @n sections' tests on @root's members in order, then print
 * "@what: label count, label count, ...".
 */
void test_sections(const struct json *root, const char *what,
		   const struct vector_section *s, size_t n);

/* Option field @name (the vectors' names) of @o into @v: 1, or 0. */
int opt_get_field(const struct pdmv2_opt *o, const char *name,
		  unsigned long long *v);

/*
 * Set option field @name to @v: 1, or 0 for an unknown name or a field
 * @o's format does not carry (an encrypted option has no random or flag).
 */
int opt_set_field(struct pdmv2_opt *o, const char *name, unsigned long long v);

#endif
