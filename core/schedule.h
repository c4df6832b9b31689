/*
** Availability rules, date overrides and calendar blocks as the API sees
** them: JSON in, JSON out, scoped by caller (docs/api-schedule.md).
**
** Every function runs inside the caller's transaction (sc_db_begin with
** sc_auth_tenant), so row-level security already limits rows to the
** caller's organization. On top of that the role narrows them:
**   platform admin, agency owner  the organization;
**   location_staff                rows of their location, plus rows whose
**                                 staff is the key's own staff member;
**   staff                         rows whose staff is themselves (for blocks
**                                 that includes their staff-wide ones).
** A row outside that scope answers SC_ENOTFOUND ("no rule <id>"), exactly
** like a missing row or a malformed id. Writes must stay inside the same
** scope: a row a location_staff key writes belongs to its location (or to
** its own staff member), else SC_EINVAL naming `location`; a staff key
** writes only rows of itself, else SC_EINVAL naming `staff`.
**
** Rows with source 'config' come from conf.d/ and are read-only here:
** update/delete answer SC_ECONFLICT with err->kind "read_only". Rows made
** here have source 'api'; config re-application never touches them.
**
** Validation errors are SC_EINVAL, err->field naming the JSON field and
** err->message "<field>: <problem>". Unknown fields are refused. A second
** override for the same (location, staff, date) is SC_ECONFLICT naming
** `date`. Updates are JSON merge patches (RFC 7386): the stored row, patched,
** must pass the same checks as a new one.
**
** Lists answer {"data":[...],"next_cursor":"..."|null}: rules ordered by
** day and start time, overrides by date, blocks by start.
*/
#ifndef SC_SCHEDULE_H
#define SC_SCHEDULE_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "auth.h"
#include "error.h"

/* Query parameters of the list routes; NULL = not given. Each list reads
** only the ones its route documents. */
struct sc_sched_filter {
  const char *location;     /* slug */
  const char *staff;        /* slug */
  const char *source;       /* "config" | "api" */
  const char *day_of_week;  /* rules: 0..6 */
  const char *from;         /* overrides: date >= from (YYYY-MM-DD) */
  const char *to;           /* overrides: date <= to */
  const char *limit;        /* 1..500, default 50 */
  const char *cursor;       /* a previous page's next_cursor */
};

int sc_rules_list(PGconn *conn, const struct sc_caller *caller,
                  const struct sc_sched_filter *f, json_object **out,
                  struct sc_error *err);
int sc_rule_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                json_object **out, struct sc_error *err);
int sc_rule_create(PGconn *conn, const struct sc_caller *caller,
                   json_object *body, json_object **out, struct sc_error *err);
int sc_rule_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                   json_object *patch, json_object **out, struct sc_error *err);
int sc_rule_delete(PGconn *conn, const struct sc_caller *caller, const char *id,
                   struct sc_error *err);

int sc_overrides_list(PGconn *conn, const struct sc_caller *caller,
                      const struct sc_sched_filter *f, json_object **out,
                      struct sc_error *err);
int sc_override_get(PGconn *conn, const struct sc_caller *caller,
                    const char *id, json_object **out, struct sc_error *err);
int sc_override_create(PGconn *conn, const struct sc_caller *caller,
                       json_object *body, json_object **out,
                       struct sc_error *err);
int sc_override_update(PGconn *conn, const struct sc_caller *caller,
                       const char *id, json_object *patch, json_object **out,
                       struct sc_error *err);
int sc_override_delete(PGconn *conn, const struct sc_caller *caller,
                       const char *id, struct sc_error *err);

int sc_blocks_list(PGconn *conn, const struct sc_caller *caller,
                   const struct sc_sched_filter *f, json_object **out,
                   struct sc_error *err);
int sc_block_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                 json_object **out, struct sc_error *err);
int sc_block_create(PGconn *conn, const struct sc_caller *caller,
                    json_object *body, json_object **out, struct sc_error *err);
int sc_block_update(PGconn *conn, const struct sc_caller *caller,
                    const char *id, json_object *patch, json_object **out,
                    struct sc_error *err);
int sc_block_delete(PGconn *conn, const struct sc_caller *caller,
                    const char *id, struct sc_error *err);

#endif
