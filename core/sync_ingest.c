/*
** Batched inbox inserts (see sync_ingest.h): a queue of waiting
** submissions and one writer thread.
*/
#include "sync_ingest.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_host.h"

struct waiter {
  const struct sc_ingest_item *item;
  int done, rc, stored, duplicate;
  struct sc_error err;
  struct waiter *next;
};

struct sc_ingest {
  struct sc_db_pool *pool;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t queued, finished;
  struct waiter *head, **tail;
  int stop;
  int64_t last_submit_ms;  /* monotonic */
};

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};

static char *batch_json(struct waiter **w, int n) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < n; i++) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "n", json_object_new_int(i));
    json_object_object_add(o, "instance", json_object_new_string(w[i]->item->instance));
    json_object_object_add(o, "dedupe", json_object_new_string(w[i]->item->dedupe));
    json_object_object_add(o, "headers", json_tokener_parse(w[i]->item->headers_json));
    json_object_object_add(o, "body", json_object_new_string(w[i]->item->body_b64));
    json_object_object_add(o, "query", w[i]->item->query ? json_object_new_string(w[i]->item->query) : NULL);
    json_object_array_add(a, o);
  }
  char *s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
  json_object_put(a);
  return s;
}

static void write_batch(struct sc_ingest *ig, struct waiter **w, int n) {
  struct sc_error err = {0};
  char *json = batch_json(w, n);
  const char *p[1] = {json};
  PGconn *c = sc_db_acquire(ig->pool);
  PGresult *r = NULL;
  int rc = sc_db_begin(c, &platform, &err);
  if (!rc)
    rc = sc_db_exec(c,
        "WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
        "   AS x(n int, instance text, dedupe text, headers jsonb, body text, query text)),"
        " ci AS (SELECT x.n, c.organization_id, c.id FROM input x"
        "   JOIN connector_instances c ON c.name = x.instance),"
        " ins AS (INSERT INTO sync_inbox (organization_id, instance_id, dedupe_key, headers, body, query)"
        "   SELECT ci.organization_id, ci.id, x.dedupe, coalesce(x.headers, '{}'),"
        "    decode(x.body, 'base64'), x.query FROM input x JOIN ci USING (n)"
        "   ON CONFLICT (organization_id, instance_id, dedupe_key) DO NOTHING"
        "   RETURNING instance_id, dedupe_key)"
        " SELECT x.n, ci.n IS NOT NULL, EXISTS (SELECT 1 FROM ins"
        "   WHERE ins.instance_id = ci.id AND ins.dedupe_key = x.dedupe)"
        " FROM input x LEFT JOIN ci USING (n)", 1, p, &r, &err);
  rc = sc_db_end(c, rc, &err);
  sc_db_release(ig->pool, c);
  free(json);
  pthread_mutex_lock(&ig->lock);
  for (int i = 0; i < n; i++) {
    w[i]->rc = rc;
    w[i]->err = err;
  }
  for (int i = 0; !rc && i < PQntuples(r); i++) {
    struct waiter *x = w[atoi(PQgetvalue(r, i, 0))];
    int known = PQgetvalue(r, i, 1)[0] == 't', inserted = PQgetvalue(r, i, 2)[0] == 't';
    if (!known)
      x->rc = sc_error_set(&x->err, SC_ENOTFOUND, NULL, "instance %s is not in the database",
                           x->item->instance);
    x->stored = inserted;
    x->duplicate = known && !inserted;
  }
  for (int i = 0; i < n; i++) w[i]->done = 1;
  pthread_cond_broadcast(&ig->finished);
  pthread_mutex_unlock(&ig->lock);
  PQclear(r);
}

static void *writer(void *arg) {
  struct sc_ingest *ig = arg;
  struct waiter *batch[SC_INGEST_BATCH];
  pthread_mutex_lock(&ig->lock);
  for (;;) {
    while (!ig->head && !ig->stop) pthread_cond_wait(&ig->queued, &ig->lock);
    if (ig->stop) break;
    int n = 0;
    while (ig->head && n < SC_INGEST_BATCH) {
      batch[n++] = ig->head;
      ig->head = ig->head->next;
    }
    if (!ig->head) ig->tail = &ig->head;
    pthread_mutex_unlock(&ig->lock);
    write_batch(ig, batch, n);
    pthread_mutex_lock(&ig->lock);
  }
  for (struct waiter *w = ig->head; w; w = w->next) {
    w->rc = sc_error_set(&w->err, SC_ESTATE, NULL, "the daemon is stopping");
    w->done = 1;
  }
  ig->head = NULL;
  ig->tail = &ig->head;
  pthread_cond_broadcast(&ig->finished);
  pthread_mutex_unlock(&ig->lock);
  return NULL;
}

int sc_ingest_start(struct sc_db_pool *pool, struct sc_ingest **out, struct sc_error *err) {
  struct sc_ingest *ig = calloc(1, sizeof *ig);
  if (!ig) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  ig->pool = pool;
  ig->tail = &ig->head;
  pthread_mutex_init(&ig->lock, NULL);
  pthread_cond_init(&ig->queued, NULL);
  pthread_cond_init(&ig->finished, NULL);
  if (pthread_create(&ig->thread, NULL, writer, ig)) {
    free(ig);
    return sc_error_set(err, SC_EINTERNAL, NULL, "could not start the webhook ingest writer");
  }
  *out = ig;
  return SC_OK;
}

void sc_ingest_stop(struct sc_ingest *ig) {
  if (!ig) return;
  pthread_mutex_lock(&ig->lock);
  ig->stop = 1;
  pthread_cond_broadcast(&ig->queued);
  pthread_mutex_unlock(&ig->lock);
  pthread_join(ig->thread, NULL);
  pthread_mutex_destroy(&ig->lock);
  pthread_cond_destroy(&ig->queued);
  pthread_cond_destroy(&ig->finished);
  free(ig);
}

int sc_ingest_submit(struct sc_ingest *ig, const struct sc_ingest_item *item, int *stored,
                     int *duplicate, struct sc_error *err) {
  struct waiter w = {.item = item};
  pthread_mutex_lock(&ig->lock);
  if (ig->stop) {
    pthread_mutex_unlock(&ig->lock);
    return sc_error_set(err, SC_ESTATE, NULL, "the daemon is stopping");
  }
  *ig->tail = &w;
  ig->tail = &w.next;
  ig->last_submit_ms = sc_plugin_monotonic_ms();
  pthread_cond_signal(&ig->queued);
  while (!w.done) pthread_cond_wait(&ig->finished, &ig->lock);
  pthread_mutex_unlock(&ig->lock);
  *stored = w.stored;
  *duplicate = w.duplicate;
  if (w.rc && err) *err = w.err;
  return w.rc;
}

int sc_ingest_recent(struct sc_ingest *ig, int ms) {
  if (!ig) return 0;
  pthread_mutex_lock(&ig->lock);
  int64_t last = ig->last_submit_ms;
  pthread_mutex_unlock(&ig->lock);
  return last && sc_plugin_monotonic_ms() - last <= ms;
}
