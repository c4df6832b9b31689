/*
** Periodic and initial sync under leases (see sync_scheduler.h).
*/
#include "sync_scheduler.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "process_name.h"
#include "registry.h"
#include "sync_apply.h"
#include "sync_auth.h"
#include "sync_health.h"
#include "sync_sink.h"

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};

struct opts {
  int64_t interval_ms, lease_ms;
  int back, horizon, init_back, init_ahead;
  char holder[128];
};

static void resolve(const struct sc_sched_options *o, struct opts *r) {
  static const struct sc_sched_options none = {0};
  if (!o) o = &none;
  r->interval_ms = o->interval_ms > 0 ? o->interval_ms : 300000;
  r->lease_ms = o->lease_ms > 0 ? o->lease_ms : 600000;
  r->back = o->back_days > 0 ? o->back_days : 1;
  r->horizon = o->horizon_days > 0 ? o->horizon_days : 62;
  r->init_back = o->initial_back_days > 0 ? o->initial_back_days : 30;
  r->init_ahead = o->initial_ahead_days > 0 ? o->initial_ahead_days : 90;
  sc_process_name(r->holder, sizeof r->holder, o->holder);
}

struct claimed {
  char org[37], instance_id[37], name[256];
  char *cursor;     /* NULL: none stored */
  int initial;
  char since[64];   /* the claim's now(): before any listing of this sync */
  int64_t renewed_ms; /* monotonic time of the claim or the last renewal */
  int lost;         /* the lease lapsed and another holder took it */
};

/* Extends this holder's lease; cl->lost when another holder has it. */
static int renew_lease(PGconn *c, const struct opts *o, struct claimed *cl, struct sc_error *err) {
  char lease[24];
  snprintf(lease, sizeof lease, "%lld", (long long)o->lease_ms);
  const char *p[4] = {cl->org, cl->instance_id, o->holder, lease};
  PGresult *r;
  int rc = sc_db_exec(c, "UPDATE sync_leases SET expires_at = now() + $4::bigint * interval '1 millisecond'"
                         " WHERE organization_id = $1::uuid AND instance_id = $2::uuid AND holder = $3",
                      4, p, &r, err);
  if (rc) return rc;
  cl->lost = atoi(PQcmdTuples(r)) == 0;
  PQclear(r);
  return SC_OK;
}

/* Locks the lease row until the caller's transaction ends, so nobody can
** take it over meanwhile; cl->lost when another holder has it. */
static int lock_lease(PGconn *c, const struct opts *o, struct claimed *cl, struct sc_error *err) {
  const char *p[3] = {cl->org, cl->instance_id, o->holder};
  PGresult *r;
  int rc = sc_db_exec(c, "SELECT 1 FROM sync_leases WHERE organization_id = $1::uuid"
                         " AND instance_id = $2::uuid AND holder = $3 FOR UPDATE", 3, p, &r, err);
  if (rc) return rc;
  cl->lost = PQntuples(r) == 0;
  PQclear(r);
  return SC_OK;
}

/* Renews the lease while a long listing keeps reporting, every third of
** its length; a listing whose lease was taken over is stopped. */
struct keeper {
  struct sc_db_pool *pool;
  const struct opts *o;
  struct claimed *cl;
};

static int keep_lease(void *arg) {
  struct keeper *k = arg;
  int64_t now = g_get_monotonic_time() / 1000;
  if (k->cl->lost) return 1;
  if (now - k->cl->renewed_ms < k->o->lease_ms / 3) return 0;
  PGconn *c = sc_db_acquire(k->pool);
  struct sc_error err;
  int rc = sc_db_begin(c, &platform, &err);
  if (!rc) rc = renew_lease(c, k->o, k->cl, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(k->pool, c);
  if (rc) sc_log_warn("event=sync_lease_renew_failed instance=%s error=\"%s\"", k->cl->name, err.message);
  else k->cl->renewed_ms = now;
  return k->cl->lost;
}

static int claim(PGconn *c, const struct opts *o, struct claimed *cl, int *found,
                 struct sc_error *err) {
  int rc = sc_db_run(c,
      "INSERT INTO sync_leases (organization_id, instance_id)"
      " SELECT organization_id, id FROM connector_instances WHERE active"
      " ON CONFLICT DO NOTHING", err);
  if (rc) return rc;
  char lease[24];
  snprintf(lease, sizeof lease, "%lld", (long long)o->lease_ms);
  const char *p[2] = {o->holder, lease};
  PGresult *r;
  rc = sc_db_exec(c,
      "WITH c AS (SELECT l.organization_id, l.instance_id FROM sync_leases l"
      "  JOIN connector_instances ci ON ci.organization_id = l.organization_id"
      "   AND ci.id = l.instance_id"
      "  WHERE ci.active AND l.next_sync_at <= now()"
      "   AND (l.expires_at IS NULL OR l.expires_at < now())"
      "  ORDER BY l.next_sync_at LIMIT 1 FOR UPDATE OF l SKIP LOCKED)"
      " UPDATE sync_leases l SET holder = $1,"
      "  expires_at = now() + $2::bigint * interval '1 millisecond'"
      " FROM c, connector_instances ci"
      " WHERE l.organization_id = c.organization_id AND l.instance_id = c.instance_id"
      "  AND ci.organization_id = c.organization_id AND ci.id = c.instance_id"
      " RETURNING l.organization_id, l.instance_id, ci.name, l.cursor, l.initial_sync_at IS NULL,"
      "  now()::text",
      2, p, &r, err);
  if (rc) return rc;
  *found = PQntuples(r) == 1;
  if (*found) {
    snprintf(cl->org, sizeof cl->org, "%s", PQgetvalue(r, 0, 0));
    snprintf(cl->instance_id, sizeof cl->instance_id, "%s", PQgetvalue(r, 0, 1));
    snprintf(cl->name, sizeof cl->name, "%s", PQgetvalue(r, 0, 2));
    cl->cursor = PQgetisnull(r, 0, 3) ? NULL : g_strdup(PQgetvalue(r, 0, 3));
    cl->initial = PQgetvalue(r, 0, 4)[0] == 't';
    snprintf(cl->since, sizeof cl->since, "%s", PQgetvalue(r, 0, 5));
    cl->renewed_ms = g_get_monotonic_time() / 1000;
  }
  PQclear(r);
  return SC_OK;
}

/* Gives the lease back; the next sync is due after delay_ms. */
static int release(PGconn *c, const struct opts *o, const struct claimed *cl, int64_t delay_ms,
                   struct sc_error *err) {
  char d[24];
  snprintf(d, sizeof d, "%lld", (long long)delay_ms);
  const char *p[4] = {cl->org, cl->instance_id, o->holder, d};
  return sc_db_exec(c,
      "UPDATE sync_leases SET holder = NULL, expires_at = NULL,"
      " next_sync_at = now() + $4::bigint * interval '1 millisecond'"
      " WHERE organization_id = $1::uuid AND instance_id = $2::uuid AND holder = $3",
      4, p, NULL, err);
}

/* Busy times in the window that a full sync did not report are gone,
** unless written since this sync began (`since`, taken before the
** listing): an inbox worker may have stored one the provider created after
** the listing read it (core/sql/009). */
static int sweep(PGconn *c, const struct sc_sync_target *t, const struct sidecal_window *w,
                 const char *since, GHashTable *seen, int *n, struct sc_error *err) {
  json_object *ids = json_object_new_array();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, seen);
  while (g_hash_table_iter_next(&it, &k, NULL))
    json_object_array_add(ids, json_object_new_string(k));
  char s[24], e[24];
  snprintf(s, sizeof s, "%lld", (long long)w->start_utc);
  snprintf(e, sizeof e, "%lld", (long long)w->end_utc);
  const char *p[6] = {t->org, t->instance_id, s, e, json_object_to_json_string(ids), since};
  PGresult *r;
  int rc = sc_db_exec(c,
      "DELETE FROM external_busy WHERE organization_id = $1::uuid AND instance_id = $2::uuid"
      " AND starts_at < to_timestamp($4::bigint) AND ends_at > to_timestamp($3::bigint)"
      " AND written_at < $6::timestamptz"
      " AND external_id NOT IN (SELECT jsonb_array_elements_text($5::jsonb))", 6, p, &r, err);
  json_object_put(ids);
  if (rc) return rc;
  *n = atoi(PQcmdTuples(r));
  PQclear(r);
  return SC_OK;
}

/* A provider that is the system of record for appointments (a location
** instance): linked, active appointments starting in the window that a
** full sync did not report were deleted there, so a lost delete webhook
** does not leave a phantom booking. Each goes through the same path as a
** reported deletion.
**
** The listing is a snapshot taken while other workers go on: an outbox
** worker may create the event at the provider after the listing read it
** and commit the link before this query runs, and a push still pending
** (or finished meanwhile) may not be at the provider yet, e.g. a move into
** the window. Neither absence means deleted, so the sweep only judges
** links older than this sync (`since`, taken before the listing) whose
** appointment has no push to this instance pending, running or settled
** since then; the next full sync judges the rest. Nor does it judge an
** appointment with a push there that was dead-lettered and not followed by
** a successful one: the provider never got that change (a move into the
** window, say), so its absence says nothing until an admin retries the job
** (sidecalctl jobs retry). */
static int sweep_appointments(PGconn *c, const struct sc_sync_target *t,
                              const struct sidecal_window *w, const char *since, GHashTable *seen,
                              struct sc_sync_counts *n, struct sc_error *err) {
  char s[24], e[24];
  snprintf(s, sizeof s, "%lld", (long long)w->start_utc);
  snprintf(e, sizeof e, "%lld", (long long)w->end_utc);
  const char *p[5] = {t->org, t->instance_id, s, e, since};
  PGresult *r;
  int rc = sc_db_exec(c,
      "SELECT l.external_id FROM appointment_links l JOIN appointments a"
      " ON a.organization_id = l.organization_id AND a.id = l.appointment_id"
      " WHERE l.organization_id = $1::uuid AND l.instance_id = $2::uuid"
      " AND a.starts_at >= to_timestamp($3::bigint) AND a.starts_at < to_timestamp($4::bigint)"
      " AND a.status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
      " AND l.updated_at < $5::timestamptz"
      " AND NOT EXISTS (SELECT 1 FROM sync_jobs j WHERE j.organization_id = l.organization_id"
      "  AND j.appointment_id = l.appointment_id AND j.instance_id = l.instance_id"
      "  AND (j.state IN ('pending', 'running') OR j.updated_at >= $5::timestamptz))"
      " AND NOT EXISTS (SELECT 1 FROM sync_jobs d WHERE d.state = 'dead'"
      "  AND d.organization_id = l.organization_id AND d.appointment_id = l.appointment_id"
      "  AND d.instance_id = l.instance_id AND NOT EXISTS (SELECT 1 FROM sync_jobs n"
      "   WHERE n.organization_id = d.organization_id AND n.appointment_id = d.appointment_id"
      "   AND n.instance_id = d.instance_id AND n.id > d.id AND n.state = 'done'))", 5, p, &r, err);
  if (rc) return rc;
  for (int i = 0; i < PQntuples(r) && !rc; i++)
    if (!g_hash_table_contains(seen, PQgetvalue(r, i, 0)))
      rc = sc_sync_apply_deleted(c, t, PQgetvalue(r, i, 0), n, err);
  PQclear(r);
  return rc;
}

static int save(PGconn *c, const struct opts *o, const struct claimed *cl,
                const struct sc_apply_sink *s, int full, int64_t ms, struct sc_error *err) {
  char d[24], dur[24];
  snprintf(d, sizeof d, "%lld", (long long)o->interval_ms);
  snprintf(dur, sizeof dur, "%lld", (long long)ms);
  const char *cursor = s->has_cursor ? s->cursor : full ? NULL : cl->cursor;
  const char *p[5] = {cl->org, cl->instance_id, o->holder, d, cursor};
  int rc = sc_db_exec(c,
      "UPDATE sync_leases SET holder = NULL, expires_at = NULL, cursor = $5,"
      " initial_sync_at = coalesce(initial_sync_at, now()),"
      " next_sync_at = now() + $4::bigint * interval '1 millisecond'"
      " WHERE organization_id = $1::uuid AND instance_id = $2::uuid AND holder = $3",
      5, p, NULL, err);
  if (!rc) rc = sc_sync_health_record(c, cl->org, cl->instance_id, SC_HEALTH_OK, NULL, ms, err);
  return rc;
}

/* The end of a listing, in one transaction: the sweep of a full sync, the
** cursor and the health, if the lease is still ours (else cl->lost). */
static int finish(struct sc_db_pool *pool, const struct opts *o, struct claimed *cl, int full,
                  const struct sidecal_window *w, struct sc_apply_sink *s, int64_t t0,
                  struct sc_sched_report *rep, struct sc_error *err) {
  PGconn *c = sc_db_acquire(pool);
  int rc = sc_db_begin(c, &platform, err);
  if (!rc) rc = lock_lease(c, o, cl, err);
  if (!rc && !cl->lost && s->seen)
    rc = *s->target->staff_id ? sweep(c, s->target, w, cl->since, s->seen, &rep->busy_swept, err)
                              : sweep_appointments(c, s->target, w, cl->since, s->seen, &s->counts, err);
  if (!rc && !cl->lost) {
    rep->full = full;
    rep->events = s->counts.imported + s->counts.updated + s->counts.busy + s->counts.unchanged +
                  s->counts.echoes + s->counts.conflicts + s->counts.pushed_back;
    rep->deleted = s->counts.cancelled + s->counts.busy_removed;
    rc = save(c, o, cl, s, full, (g_get_monotonic_time() - t0) / 1000, err);
  }
  if (!rc && !cl->lost) rc = sc_db_commit(c, err);
  else sc_db_rollback(c);
  sc_db_release(pool, c);
  return rc;
}

static int load_target(struct sc_db_pool *pool, const char *name, struct sc_sync_target *t,
                       struct sc_error *err) {
  PGconn *c = sc_db_acquire(pool);
  int rc = sc_db_begin(c, &platform, err);
  if (!rc) rc = sc_sync_target_load(c, name, t, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  return rc;
}

/* One list_events pass. The connector pages through the provider holding
** no pool connection and no transaction (a slow provider pins nothing);
** each change it reports is applied at once in a short transaction of its
** own (core/sync_sink.h), the lease renewed as it goes; the sweep, cursor
** and health follow in one transaction. A database error fails the pass
** with the changes applied so far kept: each was the provider's state, and
** the cursor stays where it was. Returns the connector's code, or -1 with
** err set on a database error. */
static int32_t pass(struct sc_db_pool *pool, struct sc_plugin_instance *inst,
                    const struct opts *o, struct claimed *cl, int full,
                    struct sc_sched_report *rep, struct sidecal_result *res,
                    struct sc_error *err) {
  int64_t now = g_get_real_time() / 1000000, t0 = g_get_monotonic_time();
  int back = cl->initial ? o->init_back : o->back, ahead = cl->initial ? o->init_ahead : o->horizon;
  struct sidecal_window w = {now - (int64_t)back * 86400, now + (int64_t)ahead * 86400};
  struct sc_sync_target t;
  if (load_target(pool, cl->name, &t, err)) return -1;
  struct sc_apply_sink s;
  sc_apply_sink_init_pool(&s, pool, &t);
  struct keeper k = {pool, o, cl};
  s.each = keep_lease;
  s.each_arg = &k;
  if (full) s.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "sync", 0);
  int32_t code = inst->plugin->desc.list_events(inst->state, &call.ctx, &w, full ? NULL : cl->cursor,
                                                &s.sink, &call.res);
  sc_plugin_instance_record(inst, &call.res);
  *res = call.res;
  res->code = code;
  if (s.rc) {
    *err = s.err;
    code = -1;
  }
  if (code == SIDECAL_OK && !cl->lost && finish(pool, o, cl, full, &w, &s, t0, rep, err)) code = -1;
  if (s.seen) g_hash_table_destroy(s.seen);
  return code;
}

static void failed(struct sc_db_pool *pool, const struct opts *o, const struct claimed *cl,
                   int reauth, const char *msg, uint32_t retry_after_ms,
                   struct sc_sched_report *rep) {
  rep->outcome = SC_SCHED_FAILED;
  snprintf(rep->error, sizeof rep->error, "%s", msg);
  PGconn *c = sc_db_acquire(pool);
  struct sc_error err;
  int64_t delay = retry_after_ms ? (int64_t)retry_after_ms : o->interval_ms / 5;
  int rc = sc_db_begin(c, &platform, &err);
  if (!rc) rc = sc_sync_health_record(c, cl->org, cl->instance_id,
                                      reauth ? SC_HEALTH_REAUTH : SC_HEALTH_FAILED, msg, -1, &err);
  if (!rc) rc = release(c, o, cl, delay, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(pool, c);
  if (rc) sc_log_error("event=sync_record_failed instance=%s error=\"%s\"", cl->name, err.message);
  sc_log_warn("event=sync_failed instance=%s reauth=%d error=\"%s\"", cl->name, reauth, msg);
}

static int sync_instance(struct sc_db_pool *pool, struct sc_plugin_instance *inst,
                         const struct opts *o, struct claimed *cl, struct sc_sched_report *rep,
                         struct sc_error *err) {
  struct sidecal_result res = {.struct_size = sizeof res};
  int full = cl->initial || !cl->cursor;
  int32_t code = pass(pool, inst, o, cl, full, rep, &res, err);
  if (!cl->lost && code == SIDECAL_CURSOR_EXPIRED) {
    rep->cursor_expired = 1;
    full = 1;
    code = pass(pool, inst, o, cl, full, rep, &res, err);
  }
  if (!cl->lost && code == SIDECAL_UNAUTHORIZED) {
    struct sidecal_result rr = {.struct_size = sizeof rr};
    if (sc_sync_refresh(pool, inst, &rr) != SIDECAL_OK) {
      char msg[SIDECAL_MESSAGE_MAX + 64];
      snprintf(msg, sizeof msg, "credentials rejected and refresh failed: %s", rr.message);
      failed(pool, o, cl, 1, msg, 0, rep);
      return SC_OK;
    }
    code = pass(pool, inst, o, cl, full, rep, &res, err);
  }
  if (cl->lost) {
    rep->outcome = SC_SCHED_LOST;
    sc_log_warn("event=sync_lease_lost instance=%s", cl->name);
    return SC_OK;
  }
  if (code == SIDECAL_OK) {
    rep->outcome = SC_SCHED_SYNCED;
    sc_log_info("event=synced instance=%s full=%d events=%d deleted=%d", cl->name, full,
                rep->events, rep->deleted);
    return SC_OK;
  }
  failed(pool, o, cl, code == SIDECAL_UNAUTHORIZED, code < 0 ? err->message : res.message,
         code == SIDECAL_RETRY ? res.retry_after_ms : 0, rep);
  return SC_OK;
}

int sc_sched_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                      const struct sc_sched_options *opts, struct sc_sched_report *rep,
                      struct sc_error *err) {
  struct opts o;
  resolve(opts, &o);
  memset(rep, 0, sizeof *rep);
  struct claimed cl = {0};
  int found = 0;
  PGconn *c = sc_db_acquire(pool);
  int rc = sc_db_begin(c, &platform, err);
  if (!rc) rc = claim(c, &o, &cl, &found, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  if (rc || !found) return rc;
  snprintf(rep->instance, sizeof rep->instance, "%s", cl.name);
  struct sc_generation *g = sc_registry_acquire(reg);
  struct sc_plugin_instance *inst = sc_generation_instance(g, cl.name);
  if (inst && (inst->plugin->desc.capabilities & SIDECAL_CAP_READ_EVENTS)) {
    rc = sync_instance(pool, inst, &o, &cl, rep, err);
  } else {
    rep->outcome = SC_SCHED_SKIPPED;
    c = sc_db_acquire(pool);
    rc = sc_db_begin(c, &platform, err);
    if (!rc) rc = release(c, &o, &cl, inst ? o.interval_ms : 60000, err);
    rc = sc_db_end(c, rc, err);
    sc_db_release(pool, c);
  }
  sc_registry_release(g);
  g_free(cl.cursor);
  return rc;
}
