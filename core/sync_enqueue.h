/*
** The transactional outbox's write side: which connector instances must
** hear of an appointment change, recorded as sync_jobs rows.
**
** Contract:
** - org_id may be "" (a platform admin acting without ?org=): the
**   appointment id alone then names the row.
** - sc_outbox_enqueue() runs in the CALLER's transaction, the one that
**   changed the appointment: the jobs commit or roll back with the change,
**   so a committed change always reaches its calendars and a rolled-back one
**   never does.
** - The receivers are the active connector instances of the appointment's
**   location and of its staff member, plus every instance that already
**   holds a link to it (a staff member who lost the appointment must see it
**   removed), minus plugins a daemon has recorded as unable to write
**   (sync_plugin_caps) and minus `except_instance` (the instance a change
**   came from, so it is not echoed back).
** - A job only names (appointment, instance); the worker reads the
**   appointment when it runs (core/sync_outbox.h), so the kind is a record
**   of why the job exists, not an instruction.
*/
#ifndef SC_SYNC_ENQUEUE_H
#define SC_SYNC_ENQUEUE_H

#include <libpq-fe.h>

#include "db.h"
#include "error.h"

enum sc_job_kind { SC_JOB_CREATE, SC_JOB_UPDATE, SC_JOB_CANCEL };

const char *sc_job_kind_name(enum sc_job_kind kind);

int sc_outbox_enqueue(PGconn *conn, const char *org_id, const char *appointment_id,
                      enum sc_job_kind kind, struct sc_error *err);
/* The same, skipping except_instance (a uuid, or NULL); *n (may be NULL)
** gets how many jobs were written. */
/* sc_outbox_enqueue as a statement to send along with others in one round
** trip (sc_db_exec_prep_many); params must have room for 4. */
struct sc_db_stmt sc_outbox_enqueue_stmt(const char *org_id, const char *appointment_id,
                                         enum sc_job_kind kind, const char *params[4]);
int sc_outbox_enqueue_except(PGconn *conn, const char *org_id, const char *appointment_id,
                             enum sc_job_kind kind, const char *except_instance,
                             int *n, struct sc_error *err);

/* Records which plugins of a registry generation can write and read
** (sync_plugin_caps), so no job is queued for an instance nobody can push
** to. The daemon calls it whenever its generation changes. */
struct sc_generation;
int sc_outbox_record_caps(PGconn *conn, const struct sc_generation *gen, struct sc_error *err);

#endif
