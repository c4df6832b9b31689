/*
** Webhook intake and inbox processing (see sync_inbox.h).
*/
#include "sync_inbox.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"
#include "sync_ingest.h"
#include "sync_sink.h"

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};


static void answer(struct sc_webhook_out *out, int status, const char *fmt, const char *a,
                   const char *b) {
  out->status = status;
  snprintf(out->message, sizeof out->message, fmt, a, b);
}

/* ---- routing ---------------------------------------------------------- */

static const struct sc_plugin *find_plugin(const struct sc_generation *g, const char *name) {
  for (size_t i = 0; i < g->n_plugins; i++)
    if (!strcmp(g->plugins[i].name, name)) return g->plugins[i].plugin;
  return NULL;
}

/* By the connector's routing key; NULL with out->status set when none. */
static struct sc_plugin_instance *route(const struct sc_generation *g,
                                        const struct sc_webhook_in *in,
                                        const struct sidecal_webhook *wh,
                                        struct sc_webhook_out *out) {
  const struct sc_plugin *p = find_plugin(g, in->plugin);
  if (!p || !p->desc.webhook_route) {
    answer(out, 404, "no webhook endpoint for plugin %s%s", in->plugin, "");
    return NULL;
  }
  static const volatile int32_t never = 0;
  struct sidecal_call_ctx ctx = {.struct_size = sizeof ctx, .organization = "", .instance = "",
                                 .request_id = "webhook-route", .cancel = &never};
  struct sidecal_result res = {.struct_size = sizeof res};
  char key[256] = "";
  /* A body the connector cannot read a routing key from is malformed (400),
  ** not unauthenticated: no instance, so no key, has looked at it yet. */
  if (p->desc.webhook_route(&ctx, wh, key, sizeof key, &res) != SIDECAL_OK) {
    answer(out, 400, "%.100s: cannot route the delivery: %.300s", in->plugin, res.message);
    return NULL;
  }
  for (size_t i = 0; i < g->n_instances; i++) {
    struct sc_plugin_instance *inst = g->instances[i].inst;
    char mine[256] = "";
    if (inst && inst->plugin == p && p->desc.instance_key &&
        p->desc.instance_key(inst->state, mine, sizeof mine) == SIDECAL_OK && !strcmp(mine, key))
      return inst;
  }
  answer(out, 200, "%s: no instance has routing key \"%s\"; acknowledged and dropped",
         in->plugin, key);
  return NULL;
}

static struct sc_plugin_instance *by_name(const struct sc_generation *g,
                                          const struct sc_webhook_in *in,
                                          struct sc_webhook_out *out) {
  const struct sc_gen_instance *e = sc_generation_instance_entry(g, in->instance);
  if (!e || strcmp(e->plugin, in->plugin)) {
    answer(out, 404, "no webhook endpoint for %s/%s", in->plugin, in->instance);
    return NULL;
  }
  if (!e->inst) {
    answer(out, 503, "instance %s is not running: %s", in->instance, e->error ? e->error : "");
    return NULL;
  }
  return e->inst;
}

/* ---- storing ---------------------------------------------------------- */

static char *headers_json(const struct sc_webhook_in *in) {
  json_object *o = json_object_new_object();
  for (size_t i = 0; i < in->n_headers; i++)
    json_object_object_add(o, in->headers[i].name, json_object_new_string(in->headers[i].value));
  char *s = g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return s;
}

/* The provider's delivery identity when its connector names one (ABI 1.3),
** else a hash of the body. */
static char *dedupe_key(struct sc_plugin_instance *inst, const struct sidecal_webhook *wh,
                        const struct sc_webhook_in *in) {
  char key[256];
  if (inst->plugin->desc.webhook_dedupe_key &&
      inst->plugin->desc.webhook_dedupe_key(inst->state, wh, key, sizeof key) == SIDECAL_OK && *key)
    return g_strdup_printf("key:%s", key);
  char *hash = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)in->body,
                                           in->body_len);
  char *d = g_strdup_printf("sha256:%s", hash);
  g_free(hash);
  return d;
}

static int store(struct sc_db_pool *pool, struct sc_ingest *ingest, const struct sc_webhook_in *in,
                 const char *instance, char *dedupe, struct sc_webhook_out *out,
                 struct sc_error *err) {
  char *hdrs = headers_json(in);
  char *b64 = g_base64_encode((const guchar *)in->body, in->body_len);
  if (ingest) {
    struct sc_ingest_item item = {instance, dedupe, hdrs, b64, in->query};
    int rc = sc_ingest_submit(ingest, &item, &out->stored, &out->duplicate, err);
    g_free(dedupe), g_free(hdrs), g_free(b64);
    return rc;
  }
  const char *p[5] = {instance, dedupe, hdrs, b64, in->query};
  PGconn *c = sc_db_acquire(pool);
  PGresult *r = NULL;
  int rc = sc_db_begin(c, &platform, err);
  if (!rc)
    rc = sc_db_exec(c,
        "WITH ci AS (SELECT organization_id, id FROM connector_instances WHERE name = $1),"
        " ins AS (INSERT INTO sync_inbox (organization_id, instance_id, dedupe_key, headers, body, query)"
        "  SELECT organization_id, id, $2, $3::jsonb, decode($4, 'base64'), $5 FROM ci"
        "  ON CONFLICT (organization_id, instance_id, dedupe_key) DO NOTHING RETURNING id)"
        " SELECT (SELECT count(*) FROM ci), (SELECT count(*) FROM ins)", 5, p, &r, err);
  if (!rc) {
    int known = atoi(PQgetvalue(r, 0, 0)), inserted = atoi(PQgetvalue(r, 0, 1));
    if (!known) rc = sc_error_set(err, SC_ENOTFOUND, NULL, "instance %s is not in the database", instance);
    out->stored = inserted;
    out->duplicate = known && !inserted;
  }
  PQclear(r);
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  g_free(dedupe), g_free(hdrs), g_free(b64);
  return rc;
}

void sc_inbox_receive(struct sc_db_pool *pool, struct sc_registry *reg, struct sc_ingest *ingest,
                      const struct sc_webhook_in *in, struct sc_webhook_out *out) {
  memset(out, 0, sizeof *out);
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .n_headers = (uint32_t)in->n_headers,
                               .headers = in->headers, .body = in->body,
                               .body_len = in->body_len, .query = in->query};
  struct sc_generation *g = sc_registry_acquire(reg);
  struct sc_plugin_instance *inst = in->instance ? by_name(g, in, out) : route(g, in, &wh, out);
  if (inst && !(inst->plugin->desc.capabilities & SIDECAL_CAP_WEBHOOKS)) {
    answer(out, 404, "plugin %s does not take webhooks%s", in->plugin, "");
    inst = NULL;
  }
  if (inst) {
    snprintf(out->instance, sizeof out->instance, "%s", inst->name);
    struct sc_plugin_call call;
    sc_plugin_call_init(inst, &call, "webhook-verify", 0);
    if (inst->plugin->desc.webhook_verify(inst->state, &call.ctx, &wh, &call.res) != SIDECAL_OK) {
      answer(out, 401, "%.200s: signature verification failed: %.250s", inst->name, call.res.message);
    } else {
      struct sc_error err;
      if (store(pool, ingest, in, inst->name, dedupe_key(inst, &wh, in), out, &err)) {
        /* The status the provider redelivers on: 429 for those that say so,
        ** 5xx for everyone else. */
        answer(out, (inst->plugin->desc.capabilities & SIDECAL_CAP_WEBHOOK_RETRY_429) ? 429 : 503,
               "%.200s: the inbox cannot take the delivery now: %.250s", inst->name, err.message);
      } else {
        answer(out, 200, out->duplicate ? "%s: duplicate delivery acknowledged%s"
                                        : "%s: delivery accepted%s", inst->name, "");
      }
    }
  }
  sc_registry_release(g);
  if (out->status != 200 || !out->stored)
    sc_log_warn("event=webhook plugin=%s status=%d message=\"%s\"", in->plugin, out->status,
                out->message);
}

/* ---- processing ------------------------------------------------------- */

struct row {
  char org[37], id[24], instance[256];
  int attempts;
  json_object *headers;
  guchar *body;
  gsize body_len;
  char *query;
};

static void row_free(struct row *r) {
  if (r->headers) json_object_put(r->headers);
  g_free(r->body);
  g_free(r->query);
}

/* Claims up to max due rows (locked until the transaction ends). */
static int claim(PGconn *c, int max, struct row **rows, int *n, struct sc_error *err) {
  char lim[16];
  snprintf(lim, sizeof lim, "%d", max);
  const char *p[1] = {lim};
  PGresult *r;
  int rc = sc_db_exec(c,
      "SELECT i.organization_id, i.id, ci.name, i.attempts, i.headers::text,"
      " encode(i.body, 'base64'), i.query"
      " FROM sync_inbox i JOIN connector_instances ci"
      "  ON ci.organization_id = i.organization_id AND ci.id = i.instance_id"
      " WHERE i.processed_at IS NULL AND i.next_run_at <= now()"
      " ORDER BY i.next_run_at, i.id LIMIT $1::int FOR UPDATE OF i SKIP LOCKED", 1, p, &r, err);
  if (rc) return rc;
  *n = PQntuples(r);
  *rows = g_new0(struct row, *n > 0 ? *n : 1);
  for (int i = 0; i < *n; i++) {
    struct row *row = &(*rows)[i];
    snprintf(row->org, sizeof row->org, "%s", PQgetvalue(r, i, 0));
    snprintf(row->id, sizeof row->id, "%s", PQgetvalue(r, i, 1));
    snprintf(row->instance, sizeof row->instance, "%s", PQgetvalue(r, i, 2));
    row->attempts = atoi(PQgetvalue(r, i, 3));
    row->headers = json_tokener_parse(PQgetvalue(r, i, 4));
    row->body = g_base64_decode(PQgetvalue(r, i, 5), &row->body_len);
    row->body = g_realloc(row->body, row->body_len + 1);
    row->body[row->body_len] = '\0';
    row->query = PQgetisnull(r, i, 6) ? NULL : g_strdup(PQgetvalue(r, i, 6));
  }
  PQclear(r);
  return SC_OK;
}

static int mark(PGconn *c, const struct row *row, int processed, const char *error,
                struct sc_error *err) {
  char delay[24];
  int64_t d = 1000LL << (row->attempts < 10 ? row->attempts : 10);
  snprintf(delay, sizeof delay, "%lld", (long long)(d > 600000 ? 600000 : d));
  const char *p[5] = {row->org, row->id, processed ? "t" : "f", error, delay};
  return sc_db_exec_prep(c,
      "UPDATE sync_inbox SET attempts = attempts + 1, error = $4,"
      " processed_at = CASE WHEN $3::boolean THEN now() END,"
      " next_run_at = now() + $5::bigint * interval '1 millisecond'"
      " WHERE organization_id = $1::uuid AND id = $2::bigint", 5, p, NULL, err);
}

/* Parses and applies inside a savepoint; sets *outcome. */
static int apply(PGconn *c, struct sc_plugin_instance *inst, const struct row *row,
                 enum sc_inbox_outcome *outcome, struct sc_sync_counts *counts,
                 struct sc_error *err) {
  struct sc_sync_target t;
  int rc = sc_sync_target_load(c, row->instance, &t, err);
  if (rc == SC_ENOTFOUND) {
    *outcome = SC_INBOX_FAILED;
    return mark(c, row, 1, err->message, err);
  }
  if (rc) return rc;
  size_t n = row->headers ? (size_t)json_object_object_length(row->headers) : 0, i = 0;
  struct sidecal_http_header *h = g_new0(struct sidecal_http_header, n + 1);
  if (row->headers) {
    json_object_object_foreach(row->headers, k, v) h[i++] = (struct sidecal_http_header){k, json_object_get_string(v)};
  }
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .n_headers = (uint32_t)n, .headers = h,
                               .body = (const char *)row->body, .body_len = row->body_len,
                               .query = row->query};
  struct sc_apply_sink s;
  sc_apply_sink_init(&s, c, &t);
  rc = sc_db_run(c, "SAVEPOINT inbox_apply", err);
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "webhook-parse", 0);
  int32_t code = rc ? SIDECAL_RETRY
                    : inst->plugin->desc.webhook_parse(inst->state, &call.ctx, &wh, &s.sink, &call.res);
  g_free(h);
  sc_plugin_instance_record(inst, &call.res);
  if (rc) return rc;
  if (code == SIDECAL_OK && !s.rc) {
    *outcome = SC_INBOX_APPLIED;
    if (counts) *counts = s.counts;
    rc = sc_db_run(c, "RELEASE SAVEPOINT inbox_apply", err);
    return rc ? rc : mark(c, row, 1, NULL, err);
  }
  rc = sc_db_run(c, "ROLLBACK TO SAVEPOINT inbox_apply", err);
  if (rc) return rc;
  const char *why = s.rc ? s.err.message : call.res.message;
  *outcome = (code == SIDECAL_ERROR && !s.rc) ? SC_INBOX_FAILED : SC_INBOX_LATER;
  sc_log_warn("event=inbox_%s instance=%s delivery=%s error=\"%s\"",
              *outcome == SC_INBOX_FAILED ? "failed" : "retry", row->instance, row->id, why);
  return mark(c, row, *outcome == SC_INBOX_FAILED, why, err);
}

static int one(PGconn *c, struct sc_generation *g, const struct row *row,
               enum sc_inbox_outcome *outcome, struct sc_sync_counts *counts,
               struct sc_error *err) {
  struct sc_plugin_instance *inst = sc_generation_instance(g, row->instance);
  if (inst) return apply(c, inst, row, outcome, counts, err);
  *outcome = SC_INBOX_LATER;
  char msg[400];
  snprintf(msg, sizeof msg, "instance %s is not running in this daemon", row->instance);
  return mark(c, row, 0, msg, err);
}

/* Up to max deliveries in one transaction: one commit (one WAL flush, one
** round of cache-invalidation notices) for the batch. */
static int run(struct sc_db_pool *pool, struct sc_registry *reg, int max,
               enum sc_inbox_outcome *outcome, struct sc_sync_counts *counts, int *n,
               struct sc_error *err) {
  *outcome = SC_INBOX_IDLE;
  *n = 0;
  struct row *rows = NULL;
  PGconn *c = sc_db_acquire(pool);
  int rc = sc_db_begin(c, &platform, err);
  /* Applying is point lookups by index; with one location holding every
  ** appointment the planner's statistics make a sequential scan look as
  ** cheap as the overlap index, and the scan grows with the calendar. */
  if (!rc) rc = sc_db_run(c, "SET LOCAL enable_seqscan = off", err);
  if (!rc) rc = claim(c, max, &rows, n, err);
  if (!rc && *n) {
    struct sc_generation *g = sc_registry_acquire(reg);
    for (int i = 0; !rc && i < *n; i++) rc = one(c, g, &rows[i], outcome, counts, err);
    sc_registry_release(g);
  }
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  for (int i = 0; i < *n; i++) row_free(&rows[i]);
  g_free(rows);
  return rc;
}

int sc_inbox_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                      enum sc_inbox_outcome *outcome, struct sc_sync_counts *counts,
                      struct sc_error *err) {
  int n;
  return run(pool, reg, 1, outcome, counts, &n, err);
}

int sc_inbox_run_batch(struct sc_db_pool *pool, struct sc_registry *reg, int max, int *n,
                       struct sc_error *err) {
  enum sc_inbox_outcome last;
  struct sc_sync_counts counts;
  return run(pool, reg, max, &last, &counts, n, err);
}
