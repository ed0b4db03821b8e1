// SPDX-License-Identifier: GPL-2.0-only
/* Minimal JSON reader for the pdmv2 test harness (RFC 8259 subset: no
 * surrogate pairs beyond the BMP; that is all the vector files need).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 64

struct parser {
	const char *p;
	const char *end;
	char *err;
	int depth;
};

static int fail(struct parser *ps, const char *msg)
{
	if (!ps->err[0])
		snprintf(ps->err, 128, "%s at offset %ld", msg,
			 (long)(ps->end - ps->p));
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

int json_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *parse_string(struct parser *ps)
{
	size_t cap = 16, n = 0;
	char *out;

	if (ps->p >= ps->end || *ps->p != '"') {
		fail(ps, "expected string");
		return NULL;
	}
	ps->p++;
	out = malloc(cap);
	if (!out)
		return NULL;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned int c = (unsigned char)*ps->p++;

		if (c < 0x20)
			goto bad;
		if (c == '\\') {
			if (ps->p >= ps->end)
				goto bad;
			c = (unsigned char)*ps->p++;
			switch (c) {
			case '"': case '\\': case '/':
				break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned int v = 0;
				int i;

				if (ps->end - ps->p < 4)
					goto bad;
				for (i = 0; i < 4; i++) {
					int h = json_hex_nibble(ps->p[i]);

					if (h < 0)
						goto bad;
					v = v << 4 | (unsigned int)h;
				}
				ps->p += 4;
				if (v > 0x7f)	/* vectors are ASCII */
					v = '?';
				c = v;
				break;
			}
			default:
				goto bad;
			}
		}
		if (n + 2 > cap) {
			char *o;

			cap *= 2;
			o = realloc(out, cap);
			if (!o)
				goto bad;
			out = o;
		}
		out[n++] = (char)c;
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++;
	out[n] = 0;
	return out;
bad:
	free(out);
	fail(ps, "bad string");
	return NULL;
}

static struct json *parse_value(struct parser *ps);

static struct json *parse_container(struct parser *ps, int is_obj)
{
	struct json *j = new_node(is_obj ? JSON_OBJECT : JSON_ARRAY);
	struct json **tail;
	char close = is_obj ? '}' : ']';

	if (!j)
		return NULL;
	if (++ps->depth > JSON_MAX_DEPTH) {
		fail(ps, "nesting too deep");
		goto bad;
	}
	tail = &j->child;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct json *v;

		skip_ws(ps);
		if (is_obj) {
			key = parse_string(ps);
			if (!key)
				goto bad;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps, "expected ':'");
				goto bad;
			}
			ps->p++;
		}
		v = parse_value(ps);
		if (!v) {
			free(key);
			goto bad;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		fail(ps, "expected ',' or end of container");
		goto bad;
	}
	ps->depth--;
	return j;
bad:
	json_free(j);
	return NULL;
}

static int match(struct parser *ps, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n))
		return 0;
	ps->p += n;
	return 1;
}

static struct json *parse_value(struct parser *ps)
{
	struct json *j;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps, "unexpected end");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
		return parse_container(ps, 1);
	case '[':
		return parse_container(ps, 0);
	case '"':
		j = new_node(JSON_STRING);
		if (!j)
			return NULL;
		j->text = parse_string(ps);
		if (!j->text) {
			free(j);
			return NULL;
		}
		return j;
	default:
		break;
	}
	if (match(ps, "null"))
		return new_node(JSON_NULL);
	if (match(ps, "true") || match(ps, "false")) {
		j = new_node(JSON_BOOL);
		if (j)
			j->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return j;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
		const char *s = ps->p;

		while (ps->p < ps->end &&
		       strchr("+-0123456789.eE", *ps->p))
			ps->p++;
		j = new_node(JSON_NUMBER);
		if (!j)
			return NULL;
		j->text = strndup(s, (size_t)(ps->p - s));
		if (!j->text) {
			free(j);
			return NULL;
		}
		return j;
	}
	fail(ps, "unexpected character");
	return NULL;
}

struct json *json_parse(const char *buf, size_t len, char *err)
{
	struct parser ps = { buf, buf + len, err, 0 };
	struct json *j;

	err[0] = 0;
	j = parse_value(&ps);
	if (!j)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing characters");
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *json_load(const char *path, char *err, int *opened)
{
	struct json *root = NULL;
	char *buf = NULL;
	long size = -1;
	int ok;
	FILE *f;

	snprintf(err, 128, "read error");
	f = fopen(path, "rb");
	ok = f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 &&
	     !fseek(f, 0, SEEK_SET);
	if (ok) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size)
			root = json_parse(buf, (size_t)size, err);
	}
	if (f)
		fclose(f);
	free(buf);
	if (opened)
		*opened = ok;
	return root;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;

		json_free(j->child);
		free(j->key);
		free(j->text);
		free(j);
		j = next;
	}
}

struct json *json_get(const struct json *obj, const char *key)
{
	struct json *c;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

size_t json_count(const struct json *arr)
{
	size_t n = 0;
	struct json *c;

	if (!arr)
		return 0;
	for (c = arr->child; c; c = c->next)
		n++;
	return n;
}
