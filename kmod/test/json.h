/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal JSON reader for the pdmv2 test harness: whole document into a
 * tree; strings keep their decoded text, numbers their literal text.
 */
#ifndef PDMV2_TEST_JSON_H
#define PDMV2_TEST_JSON_H

#include <stddef.h>

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	char *key;		/* member name inside an object */
	char *text;		/* string value or number literal */
	int boolean;
	struct json *child;	/* first element / member */
	struct json *next;	/* next sibling */
};

/* Parse @len octets; NULL and a message in @err (>= 128 octets) on error. */
struct json *json_parse(const char *buf, size_t len, char *err);
void json_free(struct json *j);

/*
 * Read and parse the file @path. NULL on error, with a message in @err
 * (>= 128 octets): "read error" or the parser's. *@opened (when not NULL)
 * tells whether the file could be opened and sized at all.
 */
struct json *json_load(const char *path, char *err, int *opened);

struct json *json_get(const struct json *obj, const char *key);
size_t json_count(const struct json *arr);

/* Value of one hex digit (either case), or -1. */
int json_hex_nibble(char c);

#endif
