/*
** Keyset pagination helpers (see page.h).
*/
#include "page.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"

int sc_page_limit(const char *text, int *limit, struct sc_error *err) {
  *limit = 50;
  if (!text) return SC_OK;
  char *end;
  long v = strtol(text, &end, 10);
  if (*end || end == text || v < 1 || v > 500)
    return sc_error_set(err, SC_EINVAL, "limit", "limit: expected a whole number from 1 to 500");
  *limit = (int)v;
  return SC_OK;
}

int sc_page_cursor_decode(const char *cursor, char **key, char id[37],
                          struct sc_error *err) {
  gsize n = 0;
  guchar *raw = g_base64_decode(cursor, &n);
  char *plain = raw ? g_strndup((const char *)raw, n) : NULL;
  g_free(raw);
  char *slash = plain ? strrchr(plain, '/') : NULL;
  if (!slash || slash == plain || !sc_uuid_valid(slash + 1)) {
    g_free(plain);
    return sc_error_set(err, SC_EINVAL, "cursor", "cursor: not a cursor from this API");
  }
  memcpy(id, slash + 1, 37);
  *slash = '\0';
  *key = plain;
  return SC_OK;
}

static char *make_cursor(PGresult *r, int row) {
  char *plain = g_strdup_printf("%s/%s", PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
  char *enc = g_base64_encode((const guchar *)plain, strlen(plain));
  g_free(plain);
  return enc;
}

json_object *sc_page_build(PGresult *r, int limit) {
  int n = PQntuples(r);
  json_object *data = json_object_new_array();
  for (int i = 0; i < n && i < limit; i++)
    json_object_array_add(data, json_tokener_parse(PQgetvalue(r, i, 0)));
  json_object *res = json_object_new_object();
  json_object_object_add(res, "data", data);
  if (n > limit) {
    char *cur = make_cursor(r, limit - 1);
    json_object_object_add(res, "next_cursor", json_object_new_string(cur));
    g_free(cur);
  } else {
    json_object_object_add(res, "next_cursor", NULL);
  }
  return res;
}
