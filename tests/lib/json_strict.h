/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsing JSON the way a strict consumer (a SIEM) would. */
#ifndef EXFILMON_TEST_JSON_STRICT_H
#define EXFILMON_TEST_JSON_STRICT_H

#include <json-c/json.h>

/*
 * Parse s with json-c in strict mode, validating UTF-8; the whole string
 * must be one value. NULL when it is not.
 */
struct json_object *json_parse_strict(const char *s);

#endif
