/*
** Parameterised SQL assembly (see sqlbuf.h).
*/
#include "sqlbuf.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

void sc_sqlbuf_init(struct sc_sqlbuf *b, const char *sql) {
  b->sql = g_string_new(sql ? sql : "");
  b->params = g_ptr_array_new_with_free_func(g_free);
}

void sc_sqlbuf_free(struct sc_sqlbuf *b) {
  if (b->sql) g_string_free(b->sql, TRUE);
  if (b->params) g_ptr_array_free(b->params, TRUE);
  b->sql = NULL;
  b->params = NULL;
}

void sc_sqlbuf_add(struct sc_sqlbuf *b, const char *sql) {
  g_string_append(b->sql, sql);
}

int sc_sqlbuf_bind(struct sc_sqlbuf *b, const char *fmt, const char *value) {
  g_ptr_array_add(b->params, value ? g_strdup(value) : NULL);
  int n = (int)b->params->len;
  const char *hole = strstr(fmt, "%s");
  if (!hole) {
    g_string_append(b->sql, fmt);
    return n;
  }
  g_string_append_len(b->sql, fmt, hole - fmt);
  g_string_append_printf(b->sql, "$%d", n);
  g_string_append(b->sql, hole + 2);
  return n;
}

int sc_sqlbuf_exec(PGconn *conn, struct sc_sqlbuf *b, PGresult **res,
                   struct sc_error *err) {
  return sc_db_exec(conn, b->sql->str, (int)b->params->len,
                    (const char *const *)b->params->pdata, res, err);
}

int sc_sqlbuf_one(PGconn *conn, struct sc_sqlbuf *b, char *out, size_t n,
                  int *found, struct sc_error *err) {
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, b, &r, err);
  sc_sqlbuf_free(b);
  if (rc) return rc;
  *found = PQntuples(r) > 0;
  if (*found) snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
  else if (n) *out = '\0';
  PQclear(r);
  return SC_OK;
}
