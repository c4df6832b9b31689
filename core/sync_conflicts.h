/*
** Sync conflicts as the API sees them (rows written by core/sync_apply.c
** when the provider's and our versions carry the same updated time but
** differ).
**
** Contract (caller's transaction, scoped like appointments: a conflict is
** visible to whoever may see its appointment; others get SC_ENOTFOUND):
** - sc_conflicts_list: {"data":[conflict...]}, newest first; status
**   "open" (default), "resolved" or "all"; anything else SC_EINVAL
**   "status: expected open, resolved or all".
** - sc_conflict_resolve: body {"keep":"ours"|"theirs"} (SC_EINVAL
**   "keep: expected \"ours\" or \"theirs\"" otherwise). ours: a job pushes
**   our version to the conflicting instance. theirs: the provider's
**   start, end, title and cancelled state are applied (version + 1) and
**   pushed to every other instance. Either way resolution becomes
**   RESOLVED_KEEP_OURS / RESOLVED_KEEP_THEIRS with resolved_at; resolving
**   twice is SC_ECONFLICT "conflict ID is already resolved".
** conflict = {"id","entity","entity_id","instance","ours","theirs","diff",
**             "resolution","created_at","resolved_at"}
*/
#ifndef SC_SYNC_CONFLICTS_H
#define SC_SYNC_CONFLICTS_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "auth.h"
#include "error.h"

int sc_conflicts_list(PGconn *conn, const struct sc_caller *caller, const char *status,
                      json_object **out, struct sc_error *err);
int sc_conflict_resolve(PGconn *conn, const struct sc_caller *caller, const char *id,
                        json_object *body, json_object **out, struct sc_error *err);

#endif
