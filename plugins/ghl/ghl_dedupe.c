/* The dedupe key of a GHL webhook delivery (see ghl_dedupe.h). */
#include "ghl_dedupe.h"

#include <json-c/json.h>
#include <stdio.h>

static const char *str_of(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v) : "";
}

int ghl_webhook_dedupe_key(const char *body, size_t len, char *buf, size_t size) {
  if (!body || !len) return -1;
  json_tokener *tok = json_tokener_new();
  json_object *o = json_tokener_parse_ex(tok, body, (int)len), *appt = NULL;
  int complete = json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == len;
  json_tokener_free(tok);
  int rc = -1;
  if (o && complete && json_object_is_type(o, json_type_object)) {
    if (*str_of(o, "webhookId")) {
      snprintf(buf, size, "ghl:%s", str_of(o, "webhookId"));
      rc = 0;
    } else if (json_object_object_get_ex(o, "appointment", &appt) && *str_of(appt, "id")) {
      snprintf(buf, size, "ghl:%s|%s|%s", str_of(appt, "id"), str_of(appt, "dateUpdated"),
               str_of(o, "type"));
      rc = 0;
    }
  }
  json_object_put(o);
  return rc;
}
