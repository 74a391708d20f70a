// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "json_strict.h"

struct json_object *json_parse_strict(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;

	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, strlen(s));
	/* trailing bytes after the value are an error too */
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)strlen(s)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}
