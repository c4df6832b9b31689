/*
** Building parameterised SQL piece by piece: every value goes in as a
** $n parameter, never into the text, so dynamic filters and partial
** updates cannot be injected into.
*/
#ifndef SC_SQLBUF_H
#define SC_SQLBUF_H

#include <glib.h>
#include <libpq-fe.h>

#include "error.h"

struct sc_sqlbuf {
  GString *sql;
  GPtrArray *params;  /* char *, owned; NULL entries are SQL NULL */
};

void sc_sqlbuf_init(struct sc_sqlbuf *b, const char *sql);
void sc_sqlbuf_free(struct sc_sqlbuf *b);
/* Appends text verbatim (never user input). */
void sc_sqlbuf_add(struct sc_sqlbuf *b, const char *sql);
/* Appends fmt with its single %s replaced by the next $n, bound to value
** (NULL binds SQL NULL). Returns the parameter number. */
int sc_sqlbuf_bind(struct sc_sqlbuf *b, const char *fmt, const char *value);
int sc_sqlbuf_exec(PGconn *conn, struct sc_sqlbuf *b, PGresult **res,
                   struct sc_error *err);
/* Runs b and frees it; the first column of the first row goes into out
** ("" when there is none) and *found says whether there was a row. */
int sc_sqlbuf_one(PGconn *conn, struct sc_sqlbuf *b, char *out, size_t n,
                  int *found, struct sc_error *err);

#endif
