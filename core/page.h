/*
** Keyset pagination, shared by every list route.
**
** A page query selects three columns per row — the row's JSON text, its
** sort key as text, its id — ordered by (sort key, id), and fetches
** limit + 1 rows so the extra one tells whether there is a next page. The
** cursor is base64 of "<sort key>/<id>" of the page's last row; the next
** page starts strictly after it, so pages stay stable while rows are added.
*/
#ifndef SC_PAGE_H
#define SC_PAGE_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "error.h"

/* ?limit=: default 50, 1..500; else SC_EINVAL naming "limit". */
int sc_page_limit(const char *text, int *limit, struct sc_error *err);
/* Splits a cursor; *key is g_malloc'd (g_free). The caller checks the key's
** type. SC_EINVAL "cursor: not a cursor from this API" on anything else. */
int sc_page_cursor_decode(const char *cursor, char **key, char id[37],
                          struct sc_error *err);
/* {"data":[…],"next_cursor":"…"|null} from up to limit rows of r. */
json_object *sc_page_build(PGresult *r, int limit);

#endif
