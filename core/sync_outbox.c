/*
** Outbox workers (see sync_outbox.h): claim a job under a lease, converge
** one connector instance to one appointment, record link and outcome.
*/
#include "sync_outbox.h"

#include <glib.h>
#include <pthread.h>
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

/* ---- options -------------------------------------------------------- */

struct opts {
  int workers, max_attempts;
  int64_t base_ms, max_ms, lease_ms, poll_ms;
  char holder[128];
};

static void resolve(const struct sc_outbox_options *o, struct opts *r) {
  static const struct sc_outbox_options none = {0};
  if (!o) o = &none;
  r->workers = o->workers > 0 ? o->workers : 2;
  r->max_attempts = o->max_attempts > 0 ? o->max_attempts : 8;
  r->base_ms = o->base_backoff_ms > 0 ? o->base_backoff_ms : 1000;
  r->max_ms = o->max_backoff_ms > 0 ? o->max_backoff_ms : 3600000;
  r->lease_ms = o->lease_ms > 0 ? o->lease_ms : 300000;
  r->poll_ms = o->poll_ms > 0 ? o->poll_ms : 1000;
  sc_process_name(r->holder, sizeof r->holder, o->holder);
}

/* Backoff for the attempt that just failed, honouring retry_after_ms. */
static int64_t backoff_ms(const struct opts *o, int attempts, uint32_t retry_after_ms) {
  if (retry_after_ms > 0)
    return (int64_t)retry_after_ms + g_random_int_range(0, (int32_t)(retry_after_ms / 10) + 1);
  int64_t d = o->base_ms;
  for (int i = 1; i < attempts && d < o->max_ms; i++) d *= 2;
  if (d > o->max_ms) d = o->max_ms;
  return d / 2 + g_random_int_range(0, (int32_t)(d / 2 > INT32_MAX - 1 ? INT32_MAX - 1 : d / 2) + 1);
}

/* ---- one job's data ---------------------------------------------------- */

struct job {
  char org[37], instance_id[37], appt[37];
  int64_t id;
  int attempts;
  int64_t lease_ms;
};

struct target {
  char *instance, *org_slug, *location, *staff;
  int hold;                 /* the instance should show the appointment */
  char *ext_id, *etag;      /* the link, or NULL */
  int64_t start, end, updated;
  int all_day, cancelled;
  char *tz, *title, *description, *place, *name, *email, *phone;
  char *appt_staff, *event_type;  /* the appointment's slugs (ABI 1.3 / 1.2) */
  char *status;                   /* the appointment's status name (ABI 1.2) */
};

static char *col(PGresult *r, int c) {
  return PQgetisnull(r, 0, c) ? NULL : g_strdup(PQgetvalue(r, 0, c));
}

static void target_free(struct target *t) {
  char **s[] = {&t->instance, &t->org_slug, &t->location, &t->staff, &t->ext_id, &t->etag,
                &t->tz, &t->title, &t->description, &t->place, &t->name, &t->email, &t->phone,
                &t->appt_staff, &t->event_type, &t->status};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) g_free(*s[i]);
}

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};

static int claim(PGconn *conn, const struct opts *o, struct job *j, int *found,
                 struct sc_error *err) {
  char lease[24];
  snprintf(lease, sizeof lease, "%lld", (long long)o->lease_ms);
  const char *p[2] = {o->holder, lease};
  PGresult *r;
  int rc = sc_db_exec(conn,
      "WITH c AS (SELECT j.organization_id, j.id FROM sync_jobs j"
      "  WHERE ((j.state = 'pending' AND j.next_run_at <= now())"
      "      OR (j.state = 'running' AND j.locked_until < now()))"
      "    AND NOT EXISTS (SELECT 1 FROM sync_jobs p"
      "      WHERE p.organization_id = j.organization_id AND p.appointment_id = j.appointment_id"
      "        AND p.instance_id = j.instance_id AND p.id < j.id"
      "        AND p.state IN ('pending', 'running'))"
      "  ORDER BY j.next_run_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
      " UPDATE sync_jobs j SET state = 'running', attempts = j.attempts + 1, locked_by = $1,"
      "  locked_until = now() + $2::bigint * interval '1 millisecond', updated_at = now()"
      " FROM c WHERE j.organization_id = c.organization_id AND j.id = c.id"
      " RETURNING j.organization_id, j.id, j.instance_id, j.appointment_id, j.attempts",
      2, p, &r, err);
  if (rc) return rc;
  *found = PQntuples(r) == 1;
  if (*found) {
    snprintf(j->org, sizeof j->org, "%s", PQgetvalue(r, 0, 0));
    j->id = atoll(PQgetvalue(r, 0, 1));
    snprintf(j->instance_id, sizeof j->instance_id, "%s", PQgetvalue(r, 0, 2));
    snprintf(j->appt, sizeof j->appt, "%s", PQgetvalue(r, 0, 3));
    j->attempts = atoi(PQgetvalue(r, 0, 4));
    j->lease_ms = o->lease_ms;
  }
  PQclear(r);
  return SC_OK;
}

static int load(PGconn *conn, const struct job *j, struct target *t, struct sc_error *err) {
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)j->id);
  const char *p[2] = {j->org, id};
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT ci.name, o.slug, lo.slug, st.slug,"
      "  ci.active AND a.status <> 'CANCELLED'"
      "   AND (ci.location_id = a.location_id OR ci.staff_id = a.staff_id),"
      "  l.external_id, l.etag, extract(epoch FROM a.starts_at)::bigint,"
      "  extract(epoch FROM a.ends_at)::bigint, extract(epoch FROM a.updated_at)::bigint,"
      "  a.all_day, a.status = 'CANCELLED', a.timezone, a.title, a.description, a.location,"
      "  a.client_name, a.client_email, a.client_phone,"
      "  (SELECT s2.slug FROM staff s2 WHERE s2.organization_id = a.organization_id AND s2.id = a.staff_id),"
      "  (SELECT e.slug FROM event_types e WHERE e.organization_id = a.organization_id"
      "   AND e.id = a.event_type_id), a.status"
      " FROM sync_jobs j"
      " JOIN connector_instances ci ON ci.organization_id = j.organization_id AND ci.id = j.instance_id"
      " JOIN organizations o ON o.organization_id = j.organization_id"
      " JOIN appointments a ON a.organization_id = j.organization_id AND a.id = j.appointment_id"
      " LEFT JOIN locations lo ON lo.organization_id = ci.organization_id AND lo.id = ci.location_id"
      " LEFT JOIN staff st ON st.organization_id = ci.organization_id AND st.id = ci.staff_id"
      " LEFT JOIN appointment_links l ON l.organization_id = j.organization_id"
      "  AND l.instance_id = j.instance_id AND l.appointment_id = j.appointment_id"
      " WHERE j.organization_id = $1::uuid AND j.id = $2::bigint",
      2, p, &r, err);
  if (rc) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, NULL, "job %s: its appointment or instance is gone", id);
  }
  *t = (struct target){
    .instance = col(r, 0), .org_slug = col(r, 1), .location = col(r, 2), .staff = col(r, 3),
    .hold = PQgetvalue(r, 0, 4)[0] == 't', .ext_id = col(r, 5), .etag = col(r, 6),
    .start = atoll(PQgetvalue(r, 0, 7)), .end = atoll(PQgetvalue(r, 0, 8)),
    .updated = atoll(PQgetvalue(r, 0, 9)), .all_day = PQgetvalue(r, 0, 10)[0] == 't',
    .cancelled = PQgetvalue(r, 0, 11)[0] == 't', .tz = col(r, 12), .title = col(r, 13),
    .description = col(r, 14), .place = col(r, 15), .name = col(r, 16), .email = col(r, 17),
    .phone = col(r, 18), .appt_staff = col(r, 19), .event_type = col(r, 20),
    .status = col(r, 21)};
  PQclear(r);
  return SC_OK;
}

/* ---- calling the connector -------------------------------------------- */

enum link_change { LINK_KEEP, LINK_SET, LINK_DROP };

struct push {
  struct sidecal_result res;
  enum link_change link;
  char ext_id[256], etag[256];
  int reauth;               /* credentials rejected and refresh failed */
  const char *action;       /* for the log */
};

struct finder {
  const char *marker;
  int found;
  char ext_id[256], etag[256];
  /* the event as the provider holds it, for the conflict rule after a 412 */
  int64_t start, end, last_modified;
  uint32_t status;
  char title[512];
};

/* The provider's version after an update met 412 (found: re-read). */
struct refetch {
  int found;
  struct finder f;
};

static int32_t find_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  struct finder *f = s->host_data;
  if (!SIDECAL_EVENT_HAS(ev, marker) || !ev->marker || strcmp(ev->marker, f->marker)) return 0;
  f->found = 1;
  snprintf(f->ext_id, sizeof f->ext_id, "%s", ev->external_id ? ev->external_id : "");
  snprintf(f->etag, sizeof f->etag, "%s", ev->etag ? ev->etag : "");
  snprintf(f->title, sizeof f->title, "%s", ev->title ? ev->title : "");
  f->start = ev->start_utc;
  f->end = ev->end_utc;
  f->status = ev->status;
  f->last_modified = ev->last_modified_utc;
  return 1;
}
static int32_t find_deleted(const struct sidecal_sink *s, const char *id) {
  (void)s, (void)id;
  return 0;
}
static void find_cursor(const struct sidecal_sink *s, const char *c) { (void)s, (void)c; }

/* Looks for an event carrying our marker around the appointment. */
static int32_t lookup_marker(struct sc_plugin_instance *inst, const struct target *t,
                             const char *marker, int64_t deadline_ms, struct finder *f,
                             struct sidecal_result *res) {
  *f = (struct finder){.marker = marker};
  struct sidecal_sink sink = {.struct_size = sizeof sink, .host_data = f, .event = find_event,
                              .deleted = find_deleted, .cursor = find_cursor};
  struct sidecal_window w = {t->start - 86400, t->end + 86400};
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "outbox-lookup", deadline_ms);
  int32_t rc = inst->plugin->desc.list_events(inst->state, &call.ctx, &w, NULL, &sink, &call.res);
  sc_plugin_instance_record(inst, &call.res);
  *res = call.res;
  return rc;
}

static void fill_event(const struct target *t, const char *marker, struct sidecal_attendee *att,
                       struct sidecal_event *ev) {
  *att = (struct sidecal_attendee){t->name, t->email, t->phone};
  *ev = (struct sidecal_event){
    .struct_size = sizeof *ev,
    .status = t->cancelled ? SIDECAL_EVENT_CANCELLED : SIDECAL_EVENT_CONFIRMED,
    .external_id = t->ext_id, .etag = t->etag, .start_utc = t->start, .end_utc = t->end,
    .timezone = t->tz, .all_day = (uint32_t)t->all_day,
    .n_attendees = (t->name || t->email || t->phone) ? 1 : 0, .attendees = att,
    .title = t->title, .description = t->description, .location = t->place,
    .last_modified_utc = t->updated, .marker = marker, .event_type = t->event_type,
    .staff = t->appt_staff, .appointment_status = t->status};
}

/* A call must end well inside the claim's lease, or another daemon could
** take the job over while it still runs. */
static int64_t deadline(const struct job *j) {
  int64_t budget = j->lease_ms / 2 < 120000 ? j->lease_ms / 2 : 120000;
  return sc_plugin_monotonic_ms() + budget;
}

/* One write call; which one depends on the target. */
static int32_t write_once(struct sc_plugin_instance *inst, const struct job *j,
                          const struct target *t, struct push *p) {
  const struct sidecal_connector *d = &inst->plugin->desc;
  char marker[64];
  snprintf(marker, sizeof marker, "sidecal:%s", j->appt);
  struct sidecal_attendee att;
  struct sidecal_event ev;
  fill_event(t, marker, &att, &ev);
  struct sidecal_write_result out = {.struct_size = sizeof out};
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "outbox", deadline(j));
  const char *ext_id = t->ext_id, *etag = t->etag;
  struct finder f = {0};
  if (t->hold && !ext_id && j->attempts > 1 && (d->capabilities & SIDECAL_CAP_READ_EVENTS)) {
    /* An earlier attempt may have reached the provider. */
    if (lookup_marker(inst, t, marker, deadline(j), &f, &p->res) != SIDECAL_OK) return p->res.code;
    if (f.found) ext_id = f.ext_id, etag = *f.etag ? f.etag : NULL;
  }
  int32_t rc;
  if (t->hold && !ext_id) {
    p->action = "create";
    rc = d->create_event(inst->state, &call.ctx, &ev, &out, &call.res);
  } else if (t->hold) {
    p->action = f.found ? "adopt+update" : "update";
    rc = d->update_event(inst->state, &call.ctx, ext_id, etag, &ev, &out, &call.res);
  } else if (ext_id) {
    p->action = "delete";
    rc = d->delete_event(inst->state, &call.ctx, ext_id, etag, &call.res);
  } else {
    p->action = "none";
    p->link = LINK_KEEP;
    return sidecal_ok(&p->res);
  }
  sc_plugin_instance_record(inst, &call.res);
  p->res = call.res;
  p->res.code = rc;
  if (rc == SIDECAL_OK) {
    p->link = t->hold ? LINK_SET : LINK_DROP;
    snprintf(p->ext_id, sizeof p->ext_id, "%s", *out.external_id ? out.external_id : ext_id);
    snprintf(p->etag, sizeof p->etag, "%s", out.etag);
  }
  return rc;
}

/* An update refused with 412: read the provider's version (marker lookup
** around the appointment) so the conflict rule can decide, instead of
** retrying with an etag that can never match again. */
static void refetch(struct sc_plugin_instance *inst, const struct job *j,
                    const struct target *t, struct refetch *rf) {
  if (!t->hold || !t->ext_id || !(inst->plugin->desc.capabilities & SIDECAL_CAP_READ_EVENTS))
    return;
  char marker[64];
  snprintf(marker, sizeof marker, "sidecal:%s", j->appt);
  struct sidecal_result res = {.struct_size = sizeof res};
  if (lookup_marker(inst, t, marker, deadline(j), &rf->f, &res) == SIDECAL_OK && rf->f.found &&
      !strcmp(rf->f.ext_id, t->ext_id))
    rf->found = 1;
}

static void push(struct sc_db_pool *pool, struct sc_plugin_instance *inst, const struct job *j,
                 const struct target *t, struct push *p, struct refetch *rf) {
  if (!(inst->plugin->desc.capabilities & SIDECAL_CAP_WRITE_EVENTS)) {
    p->action = "skip";
    sidecal_ok(&p->res);
    return;
  }
  int32_t rc = write_once(inst, j, t, p);
  if (rc == SIDECAL_CONFLICT) refetch(inst, j, t, rf);
  if (rf->found) p->action = "update+conflict-rule";
  if (rc != SIDECAL_UNAUTHORIZED) return;
  struct sidecal_result rr = {.struct_size = sizeof rr};
  if (sc_sync_refresh(pool, inst, &rr) != SIDECAL_OK) {
    p->reauth = 1;
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "credentials rejected and refresh failed: %.400s", rr.message);
    sidecal_retry(&p->res, 0, msg);
    return;
  }
  if (write_once(inst, j, t, p) == SIDECAL_UNAUTHORIZED) {
    p->reauth = 1;
    p->res.code = SIDECAL_RETRY;
  }
}

/* ---- recording the outcome -------------------------------------------- */

static int save_link(PGconn *conn, const struct job *j, const struct push *p,
                     struct sc_error *err) {
  if (p->link == LINK_KEEP) return SC_OK;
  const char *q[5] = {j->org, j->instance_id, j->appt, p->ext_id, *p->etag ? p->etag : NULL};
  if (p->link == LINK_DROP)
    return sc_db_exec(conn, "DELETE FROM appointment_links WHERE organization_id = $1::uuid"
                            " AND instance_id = $2::uuid AND appointment_id = $3::uuid",
                      3, q, NULL, err);
  return sc_db_exec(conn,
      "INSERT INTO appointment_links (organization_id, instance_id, appointment_id, external_id, etag)"
      " VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5)"
      " ON CONFLICT (organization_id, instance_id, appointment_id) DO UPDATE"
      " SET external_id = EXCLUDED.external_id, etag = EXCLUDED.etag, updated_at = now()",
      5, q, NULL, err);
}

/* The re-read version through the conflict rule, in the finishing
** transaction; the job is then settled (a push-back is a new job). */
static int apply_refetched(PGconn *conn, const char *instance, const struct refetch *rf,
                           struct sc_error *err) {
  struct sc_sync_target t;
  int rc = sc_sync_target_load(conn, instance, &t, err);
  if (rc) return rc;
  const struct finder *f = &rf->f;
  struct sidecal_event ev = {
    .struct_size = sizeof ev, .external_id = f->ext_id, .etag = *f->etag ? f->etag : NULL,
    .status = f->status, .start_utc = f->start, .end_utc = f->end, .title = f->title,
    .last_modified_utc = f->last_modified, .marker = f->marker};
  struct sc_sync_counts n = {0};
  return sc_sync_apply_refetched(conn, &t, &ev, &n, err);
}

static int finish(PGconn *conn, const struct opts *o, const struct job *j, const struct push *p,
                  const char *instance, const struct refetch *rf,
                  enum sc_outbox_outcome *outcome, struct sc_error *err) {
  char id[24], delay[24];
  snprintf(id, sizeof id, "%lld", (long long)j->id);
  int code = p->res.code;
  int rc = SC_OK;
  const char *state;
  if (code == SIDECAL_CONFLICT && rf->found) {
    state = "done";
    *outcome = SC_OUTBOX_DONE;
    rc = apply_refetched(conn, instance, rf, err);
  } else if (code == SIDECAL_OK) {
    state = "done";
    *outcome = SC_OUTBOX_DONE;
    rc = save_link(conn, j, p, err);
  } else if (code == SIDECAL_ERROR || j->attempts >= o->max_attempts) {
    state = "dead";
    *outcome = SC_OUTBOX_DEAD;
  } else {
    state = "pending";
    *outcome = SC_OUTBOX_RETRY;
  }
  snprintf(delay, sizeof delay, "%lld",
           (long long)(*outcome == SC_OUTBOX_RETRY ? backoff_ms(o, j->attempts, p->res.retry_after_ms) : 0));
  const char *q[6] = {j->org, id, state, code == SIDECAL_OK ? NULL : p->res.message, delay, o->holder};
  PGresult *r = NULL;
  if (!rc)
    rc = sc_db_exec(conn,
        "UPDATE sync_jobs SET state = $3::sync_job_state, last_error = $4, locked_by = NULL,"
        " locked_until = NULL, updated_at = now(),"
        " next_run_at = now() + $5::bigint * interval '1 millisecond',"
        " done_at = CASE WHEN $3 = 'done' THEN now() END,"
        " dead_at = CASE WHEN $3 = 'dead' THEN now() END"
        " WHERE organization_id = $1::uuid AND id = $2::bigint AND locked_by = $6",
        6, q, &r, err);
  if (!rc && atoi(PQcmdTuples(r)) == 0) {
    /* Our lease lapsed and another worker took the job: its outcome counts.
    ** A link we saved stays: it names the event we really wrote. */
    *outcome = SC_OUTBOX_LOST;
    PQclear(r);
    return SC_OK;
  }
  PQclear(r);
  if (!rc && strcmp(p->action ? p->action : "", "skip") && strcmp(p->action ? p->action : "", "none"))
    rc = sc_sync_health_record(conn, j->org, j->instance_id,
                               *outcome == SC_OUTBOX_DONE ? SC_HEALTH_OK
                               : p->reauth                ? SC_HEALTH_REAUTH
                                                  : SC_HEALTH_FAILED,
                               p->res.message, -1, err);
  return rc;
}

/* Outcome without a connector call (instance not running, row gone). */
static void no_call(struct push *p, int32_t code, const char *fmt, const char *arg) {
  char msg[SIDECAL_MESSAGE_MAX];
  snprintf(msg, sizeof msg, fmt, arg);
  sidecal_result_set(&p->res, code, 0, msg);
  p->action = "none";
}

static void run_job(struct sc_db_pool *pool, struct sc_registry *reg, const struct job *j,
                    const struct target *t, struct push *p, struct refetch *rf) {
  struct sc_generation *gen = sc_registry_acquire(reg);
  struct sc_plugin_instance *inst = sc_generation_instance(gen, t->instance);
  if (inst) {
    push(pool, inst, j, t, p, rf);
  } else {
    const struct sc_gen_instance *e = sc_generation_instance_entry(gen, t->instance);
    if (e && e->error) no_call(p, SIDECAL_RETRY, "%s", e->error);
    else no_call(p, SIDECAL_RETRY, "instance %s is not loaded in this daemon", t->instance);
    p->action = "unavailable";
  }
  sc_registry_release(gen);
}

static int txn(PGconn *c, struct sc_error *err) { return sc_db_begin(c, &platform, err); }

int sc_outbox_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                       const struct sc_outbox_options *opts,
                       enum sc_outbox_outcome *outcome, int64_t *job_id,
                       struct sc_error *err) {
  struct opts o;
  resolve(opts, &o);
  *outcome = SC_OUTBOX_IDLE;
  struct job j = {0};
  struct target t = {0};
  int found = 0;
  PGconn *c = sc_db_acquire(pool);
  int rc = txn(c, err);
  if (!rc) rc = sc_db_end(c, claim(c, &o, &j, &found, err), err);
  if (!rc && found && !(rc = txn(c, err))) rc = sc_db_end(c, load(c, &j, &t, err), err);
  sc_db_release(pool, c);
  if (rc || !found) return rc;
  if (job_id) *job_id = j.id;
  struct push p = {.res = {.struct_size = sizeof p.res}};
  struct refetch rf = {0};
  run_job(pool, reg, &j, &t, &p, &rf);
  c = sc_db_acquire(pool);
  rc = txn(c, err);
  if (!rc) rc = sc_db_end(c, finish(c, &o, &j, &p, t.instance, &rf, outcome, err), err);
  sc_db_release(pool, c);
  static const char *const names[] = {"idle", "done", "retry", "dead", "lost_lease"};
  if (*outcome == SC_OUTBOX_DONE)
    sc_log_info("event=job_done job=%lld instance=%s appointment=%s action=%s attempts=%d",
                (long long)j.id, t.instance, j.appt, p.action, j.attempts);
  else
    sc_log_warn("event=job_%s job=%lld instance=%s appointment=%s action=%s attempts=%d "
                "error=\"%s\"", names[*outcome], (long long)j.id, t.instance, j.appt,
                p.action ? p.action : "none", j.attempts, p.res.message);
  target_free(&t);
  return rc;
}

int sc_outbox_retry(PGconn *conn, int64_t id, struct sc_error *err) {
  char s[24];
  snprintf(s, sizeof s, "%lld", (long long)id);
  const char *p[1] = {s};
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT state FROM sync_jobs WHERE id = $1::bigint FOR UPDATE",
                      1, p, &r, err);
  if (rc) return rc;
  char state[16] = "";
  if (PQntuples(r) == 1) snprintf(state, sizeof state, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  if (!*state) return sc_error_set(err, SC_ENOTFOUND, "id", "no job %s", s);
  if (!strcmp(state, "running") || !strcmp(state, "done"))
    return sc_error_set(err, SC_ESTATE, "id", "job %s is %s", s, state);
  return sc_db_exec(conn,
      "UPDATE sync_jobs SET state = 'pending', attempts = 0, next_run_at = now(),"
      " dead_at = NULL, updated_at = now() WHERE id = $1::bigint", 1, p, NULL, err);
}

/* ---- worker threads --------------------------------------------------- */

struct worker_slot {
  struct sc_outbox *ob;
  struct sc_outbox_options opts;
  char holder[160];   /* "<daemon holder>/w<N>": a stale finish is detected */
};

struct sc_outbox {
  struct sc_db_pool *pool;
  struct sc_registry *reg;
  struct sc_outbox_options opts;
  struct worker_slot *slots;
  char holder[128];
  pthread_t *threads;
  int n;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stop;
  unsigned long wakes;
};

static void *worker(void *arg) {
  struct worker_slot *slot = arg;
  struct sc_outbox *ob = slot->ob;
  for (;;) {
    pthread_mutex_lock(&ob->lock);
    int stop = ob->stop;
    unsigned long seen = ob->wakes;
    pthread_mutex_unlock(&ob->lock);
    if (stop) break;
    enum sc_outbox_outcome out = SC_OUTBOX_IDLE;
    struct sc_error err;
    int rc = sc_outbox_run_once(ob->pool, ob->reg, &slot->opts, &out, NULL, &err);
    if (rc) sc_log_error("event=outbox_error error=\"%s\"", err.message);
    if (!rc && out != SC_OUTBOX_IDLE) continue;
    pthread_mutex_lock(&ob->lock);
    if (!ob->stop && ob->wakes == seen) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t ns = ts.tv_nsec + (ob->opts.poll_ms > 0 ? ob->opts.poll_ms : 1000) * 1000000LL;
      ts.tv_sec += ns / 1000000000LL;
      ts.tv_nsec = ns % 1000000000LL;
      pthread_cond_timedwait(&ob->cond, &ob->lock, &ts);
    }
    pthread_mutex_unlock(&ob->lock);
  }
  return NULL;
}

int sc_outbox_start(struct sc_db_pool *pool, struct sc_registry *reg,
                    const struct sc_outbox_options *opts, struct sc_outbox **out,
                    struct sc_error *err) {
  struct opts o;
  resolve(opts, &o);
  struct sc_outbox *ob = calloc(1, sizeof *ob);
  if (!ob) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  ob->pool = pool;
  ob->reg = reg;
  if (opts) ob->opts = *opts;
  snprintf(ob->holder, sizeof ob->holder, "%s", o.holder);
  ob->opts.holder = ob->holder;
  pthread_mutex_init(&ob->lock, NULL);
  pthread_cond_init(&ob->cond, NULL);
  ob->threads = calloc((size_t)o.workers, sizeof *ob->threads);
  ob->slots = calloc((size_t)o.workers, sizeof *ob->slots);
  for (int i = 0; ob->threads && ob->slots && i < o.workers; i++) {
    struct worker_slot *s = &ob->slots[i];
    s->ob = ob;
    s->opts = ob->opts;
    snprintf(s->holder, sizeof s->holder, "%s/w%d", ob->holder, i);
    s->opts.holder = s->holder;
    if (pthread_create(&ob->threads[i], NULL, worker, s)) break;
    ob->n++;
  }
  if (ob->n != o.workers) {
    sc_outbox_stop(ob);
    return sc_error_set(err, SC_EINTERNAL, NULL, "could not start %d outbox workers", o.workers);
  }
  *out = ob;
  return SC_OK;
}

void sc_outbox_wake(struct sc_outbox *ob) {
  if (!ob) return;
  pthread_mutex_lock(&ob->lock);
  ob->wakes++;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
}

void sc_outbox_stop(struct sc_outbox *ob) {
  if (!ob) return;
  pthread_mutex_lock(&ob->lock);
  ob->stop = 1;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
  for (int i = 0; i < ob->n; i++) pthread_join(ob->threads[i], NULL);
  free(ob->threads);
  free(ob->slots);
  pthread_mutex_destroy(&ob->lock);
  pthread_cond_destroy(&ob->cond);
  free(ob);
}
