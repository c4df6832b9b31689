/*
** Appointments as the API sees them: JSON in, JSON out, scoped by caller.
**
** Every function runs inside the caller's transaction (sc_db_begin with
** sc_auth_tenant), so row-level security already limits rows to the
** caller's organization; on top of that the caller's role narrows them
** (design "Data Isolation Rules"): platform admin and agency owner see the
** organization, location staff their location's appointments plus their
** own, staff their own. A row outside that answers SC_ENOTFOUND, exactly
** like a row that does not exist.
**
** Validation errors are SC_EINVAL with err->field naming the JSON field.
** An overlap with another active sidecal booking or with the staff member's
** external busy time is SC_ECONFLICT with kind "slot_taken". A stale
** If-Match is SC_EPRECONDITION.
*/
#ifndef SC_APPOINTMENTS_H
#define SC_APPOINTMENTS_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "auth.h"
#include "error.h"

struct sc_appt_filter {
  const char *from;      /* RFC 3339; appointments ending after it */
  const char *to;        /* RFC 3339; appointments starting before it */
  const char *location;  /* slug */
  const char *staff;     /* slug */
  const char *status;    /* one status name */
  const char *limit;     /* 1..500, default 50 */
  const char *cursor;    /* from a previous page's next_cursor */
};

/* {"data":[...],"next_cursor":"..."|null} */
int sc_appt_list(PGconn *conn, const struct sc_caller *caller,
                 const struct sc_appt_filter *f, json_object **out,
                 struct sc_error *err);
int sc_appt_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                json_object **out, struct sc_error *err);
int sc_appt_create(PGconn *conn, const struct sc_caller *caller,
                   json_object *body, json_object **out, struct sc_error *err);
/* JSON merge patch (RFC 7386). if_match: the version from an ETag, or NULL. */
int sc_appt_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                   json_object *patch, const char *if_match, json_object **out,
                   struct sc_error *err);
int sc_appt_cancel(PGconn *conn, const struct sc_caller *caller, const char *id,
                   const char *reason, json_object **out, struct sc_error *err);

/* The SQL visibility predicate for the caller over appointments aliased
** `a` (shared with availability and health queries). */
struct sc_sqlbuf;
void sc_appt_scope_where(struct sc_sqlbuf *b, const struct sc_caller *caller);

#endif
