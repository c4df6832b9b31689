/*
** Reading API request bodies with json-c: exact, field-named errors for
** unknown keys and wrong types, so a client always learns which field to fix.
** Messages have the form "<field>: <problem>" and err->field is the field.
*/
#ifndef SC_JSON_INPUT_H
#define SC_JSON_INPUT_H

#include <json-c/json.h>

#include "error.h"

/* Parses a request body that must be one JSON object. Errors:
**   "$: invalid JSON at byte N" (kind "malformed_json") and
**   "$: expected a JSON object" (SC_EINVAL). */
int sc_json_parse_object(const char *body, size_t len, json_object **out,
                         struct sc_error *err);

/* SC_EINVAL for the first key of obj not in allowed (NULL-terminated):
** "<key>: unknown field; valid fields: a, b, c". */
int sc_json_only_keys(json_object *obj, const char *const *allowed,
                      struct sc_error *err);

/* What a merge-patch field holds. */
enum sc_json_has { SC_JSON_ABSENT, SC_JSON_NULL, SC_JSON_VALUE };

/* Optional string: *out is borrowed from obj. Non-string → "<key>: expected
** a string". Strings longer than max_len (0 = 10000) are refused. */
int sc_json_string(json_object *obj, const char *key, enum sc_json_has *has,
                   const char **out, size_t max_len, struct sc_error *err);
int sc_json_bool(json_object *obj, const char *key, enum sc_json_has *has,
                 int *out, struct sc_error *err);
/* Whole number within [min, max]. */
int sc_json_int(json_object *obj, const char *key, enum sc_json_has *has,
                long *out, long min, long max, struct sc_error *err);
/* A JSON object (borrowed). */
int sc_json_object(json_object *obj, const char *key, enum sc_json_has *has,
                   json_object **out, struct sc_error *err);

/* RFC 7386 merge patch applied to target (modified in place). */
void sc_json_merge_patch(json_object *target, json_object *patch);

#endif
