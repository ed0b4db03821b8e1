// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the pdmv2 test programs (test_core.c, test_crypto.c);
 * see harness.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static unsigned int passed, failed;

void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int check_summary(void)
{
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

int run_units(void (*const *units)(void), size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		units[i]();
	return check_summary();
}

const char *seeds_dir(int argc, char **argv, int at)
{
	return argc > at + 1 && !strcmp(argv[at], "--seeds") ?
	       argv[at + 1] : NULL;
}

long unhex(const char *s, u8 **out)
{
	size_t n, i;
	u8 *b;

	*out = NULL;
	if (!s)
		return -1;
	n = strlen(s);
	if (n % 2)
		return -1;
	b = malloc(n / 2 + 1);
	if (!b)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = json_hex_nibble(s[2 * i]);
		int lo = json_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -1;
		}
		b[i] = (u8)(hi << 4 | lo);
	}
	*out = b;
	return (long)(n / 2);
}

const char *tohex(const u8 *b, size_t n)
{
	static char buf[4][2 * 128 + 1];
	static unsigned int k;
	static const char d[] = "0123456789abcdef";
	char *out = buf[k++ % 4];
	size_t i;

	if (n > 128)
		n = 128;
	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
	return out;
}

const char *str(const struct json *o, const char *key)
{
	const struct json *j = json_get(o, key);

	return j && j->type == JSON_STRING ? j->text : NULL;
}

int num(const struct json *o, const char *key, unsigned long long *v)
{
	const struct json *j = json_get(o, key);
	char *end;

	if (!j || j->type != JSON_NUMBER || !*j->text)
		return 0;
	*v = strtoull(j->text, &end, 10);
	return *end == 0;
}

void test_sections(const struct json *root, const char *what,
		   const struct vector_section *s, size_t n)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < n; i++)
		s[i].test(json_get(root, s[i].key));
	printf("%s: ", what);
	for (i = 0; i < n; i++) {
		const struct json *m = json_get(root, s[i].key);

		if (!s[i].label)
			continue;
		if (s[i].count_of)
			m = json_get(m, s[i].count_of);
		printf("%s%s %zu", sep, s[i].label, json_count(m));
		sep = ", ";
	}
	printf("\n");
}

static const struct opt_field {
	const char *name;
	size_t off;
	int size;
	bool draft;		/* only in the draft form: not encrypted */
} opt_fields[] = {
#define F(n, m, d) { n, offsetof(struct pdmv2_opt, m), \
		     (int)sizeof(((struct pdmv2_opt *)0)->m), d }
	F("version", version, false), F("epoch", epoch, false),
	F("psntp", psntp, false), F("psnlr", psnlr, false),
	F("global_pointer", global_pointer, false),
	F("scale_dtlr", scale_dtlr, false), F("scale_dtls", scale_dtls, false),
	F("delta_tlr", delta_tlr, false), F("delta_tls", delta_tls, false),
	F("random", random, true), F("flag", flag, true),
#undef F
};

static const struct opt_field *opt_field(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(opt_fields) / sizeof(opt_fields[0]); i++)
		if (!strcmp(opt_fields[i].name, name))
			return &opt_fields[i];
	return NULL;
}

int opt_get_field(const struct pdmv2_opt *o, const char *name,
		  unsigned long long *v)
{
	const struct opt_field *f = opt_field(name);
	const u8 *p;

	if (!f)
		return 0;
	p = (const u8 *)o + f->off;
	if (f->size == 1)
		*v = *p;
	else if (f->size == 2)
		*v = *(const u16 *)(const void *)p;
	else
		*v = *(const u32 *)(const void *)p;
	return 1;
}

int opt_set_field(struct pdmv2_opt *o, const char *name, unsigned long long v)
{
	const struct opt_field *f = opt_field(name);
	u8 *p;

	if (!f || (f->draft && o->fmt == PDMV2_FMT_ENCRYPTED))
		return 0;
	p = (u8 *)o + f->off;
	if (f->size == 1)
		*p = (u8)v;
	else if (f->size == 2)
		*(u16 *)(void *)p = (u16)v;
	else
		*(u32 *)(void *)p = (u32)v;
	return 1;
}
