/*
** What rules, overrides and blocks share (internal to schedule_*.c; other
** modules use schedule.h): the caller's scope over a row aliased `t`, keyset
** pagination, get/delete by id, the read-only guard for conf.d/ rows, who
** a written row belongs to, and the field checkers that produce the exact
** "<field>: <problem>" messages.
*/
#ifndef SC_SCHEDULE_COMMON_H
#define SC_SCHEDULE_COMMON_H

#include "json_input.h"
#include "schedule.h"
#include "sqlbuf.h"

/* One table as the API shows it. */
struct sc_sched_kind {
  const char *noun;    /* "rule": used in messages */
  const char *table;
  /* SELECT <json text>, <sort_key>, t.id FROM <table> t
  ** <joins with l = locations, s = staff> WHERE true */
  const char *select;
  const char *sort_key;  /* a bigint SQL expression over t: list order */
  const char *const *fields;  /* the writable JSON fields, NULL-terminated */
};

/* The caller's visibility predicate over the row aliased t. */
void sc_sched_scope_where(struct sc_sqlbuf *b, const struct sc_caller *c);

/* Starts a query: kind->select plus the caller's scope. */
/* A platform admin without ?org= acts, for writes to an existing row, in
** that row's organization (the row names it; nothing else may). */
int sc_sched_row_caller(PGconn *conn, const struct sc_caller *caller,
                        const struct sc_sched_kind *k, const char *id,
                        struct sc_caller *out, struct sc_error *err);
void sc_sched_query(struct sc_sqlbuf *b, const struct sc_sched_kind *k,
                    const struct sc_caller *c);
/* Appends the location/staff/source filters and validates limit and cursor. */
int sc_sched_common_filters(struct sc_sqlbuf *b, const struct sc_sched_filter *f,
                            struct sc_error *err);
/* Appends cursor, order and limit, runs the query and builds the page.
** Frees b. */
int sc_sched_page(PGconn *conn, struct sc_sqlbuf *b, const struct sc_sched_kind *k,
                  const struct sc_sched_filter *f, json_object **out,
                  struct sc_error *err);

int sc_sched_get(PGconn *conn, const struct sc_caller *caller,
                 const struct sc_sched_kind *k, const char *id,
                 json_object **out, struct sc_error *err);
/* Locks a row for update or delete: SC_ENOTFOUND outside the caller's
** scope, SC_ECONFLICT kind "read_only" for conf.d/ rows. *row (may be NULL)
** receives the row's API JSON. */
int sc_sched_lock_writable(PGconn *conn, const struct sc_caller *caller,
                           const struct sc_sched_kind *k, const char *id,
                           json_object **row, struct sc_error *err);
int sc_sched_delete(PGconn *conn, const struct sc_caller *caller,
                    const struct sc_sched_kind *k, const char *id,
                    struct sc_error *err);

/* The patched input of an update: the row's writable fields, merge-patched.
** Refuses unknown fields in patch. Caller json_object_put()s *out. */
int sc_sched_merged(const struct sc_sched_kind *k, json_object *row,
                    json_object *patch, json_object **out, struct sc_error *err);

/* Who a written row belongs to, resolved inside the caller's organization
** and checked against the caller's write scope. location may be NULL only
** for a staff-wide block. */
struct sc_sched_owner {
  char location_id[37];  /* "" when no location */
  char timezone[64];     /* the location's zone, "" when no location */
  char staff_id[37];     /* "" when location-wide */
};
int sc_sched_resolve_owner(PGconn *conn, const struct sc_caller *caller,
                           const char *location, const char *staff,
                           struct sc_sched_owner *o, struct sc_error *err);

/* Field readers. An optional field absent or null leaves *out NULL; a
** required one is "<path>: required". Messages name the path (e.g.
** "intervals[1].end") and quote the offending JSON value. */
int sc_sched_string(json_object *obj, const char *key, const char **out,
                    size_t max_len, struct sc_error *err);
/* "HH:MM"; required. */
int sc_sched_hhmm(json_object *obj, const char *key, const char *path,
                  int allow_24, int *minutes, struct sc_error *err);
/* "YYYY-MM-DD" or null (when !required). */
int sc_sched_date(json_object *obj, const char *key, int required,
                  const char **out, struct sc_error *err);
/* Local "YYYY-MM-DDTHH:MM[:SS]" (no offset) normalised to seconds. */
int sc_sched_local_datetime(json_object *v, const char *path,
                            char out[20], struct sc_error *err);
/* minutes → "HH:MM" (24:00 allowed) into buf[6]. */
void sc_sched_format_hhmm(int minutes, char buf[6]);

#endif
