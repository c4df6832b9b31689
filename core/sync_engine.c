/*
** The daemon's sync threads (see sync_engine.h): the outbox pool, inbox
** loops and the scheduler loops, sharing one wake-up condition.
*/
#include "sync_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "plugin_host.h"
#include "process_name.h"
#include "registry.h"
#include "sync_enqueue.h"
#include "sync_inbox.h"
#include "sync_ingest.h"

/* Deliveries applied per transaction by an inbox worker. */
#define SC_SYNC_INBOX_BATCH 64

/* A scheduler thread: its own holder name ("<daemon>/s<N>"), so a lease one
** thread lets lapse is never mistaken for another thread's. */
struct sched_thread {
  struct sc_sync_engine *e;
  struct sc_sched_options o;
  char holder[128];
};

struct sc_sync_engine {
  struct sc_db_pool *pool;
  struct sc_registry *reg;
  struct sc_sync_engine_options o;
  struct sc_outbox *outbox;
  struct sc_ingest *ingest;
  pthread_t *threads;
  int n_threads;
  struct sched_thread *sched;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stop;
  unsigned long wakes;           /* jobs queued: every thread */
  unsigned long inbox_wakes;     /* a delivery stored here: inbox threads only */
  pthread_mutex_t caps_lock;    /* one scheduler thread records them */
  uint64_t caps_generation;     /* under caps_lock */
};

static int64_t env_int(const char *name, int64_t def) {
  const char *v = getenv(name);
  char *end = NULL;
  long long n = v && *v ? strtoll(v, &end, 10) : 0;
  return v && *v && !*end && n > 0 ? n : def;
}

void sc_sync_engine_options_from_env(struct sc_sync_engine_options *o) {
  if (!o->outbox.workers) o->outbox.workers = (int)env_int("SIDECAL_SYNC_WORKERS", 0);
  if (!o->schedulers) o->schedulers = (int)env_int("SIDECAL_SYNC_SCHEDULERS", 0);
  if (!o->outbox.max_attempts) o->outbox.max_attempts = (int)env_int("SIDECAL_JOB_MAX_ATTEMPTS", 0);
  if (!o->sched.interval_ms) o->sched.interval_ms = env_int("SIDECAL_SYNC_INTERVAL_S", 0) * 1000;
  if (!o->sched.horizon_days) o->sched.horizon_days = (int)env_int("SIDECAL_SYNC_HORIZON_DAYS", 0);
  if (!o->poll_ms) o->poll_ms = env_int("SIDECAL_SYNC_POLL_MS", 1000);
  if (!o->outbox.poll_ms) o->outbox.poll_ms = o->poll_ms;
}

static struct timespec deadline(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = ts.tv_nsec + ms * 1000000LL;
  ts.tv_sec += ns / 1000000000LL;
  ts.tv_nsec = ns % 1000000000LL;
  return ts;
}

static unsigned long wakes_of(const struct sc_sync_engine *e, int inbox) {
  return e->wakes + (inbox ? e->inbox_wakes : 0);
}

/* Sleeps up to ms, cut short by a stop and, when seen is given, by a
** wake-up this thread listens to since *seen. One condition serves every
** thread: a wake-up meant for others is not a reason to run (the scheduler
** ran an empty claim per webhook). Returns nonzero to stop. */
static int sleep_for(struct sc_sync_engine *e, int64_t ms, const unsigned long *seen, int inbox) {
  pthread_mutex_lock(&e->lock);
  struct timespec ts = deadline(ms);
  while (!e->stop && (!seen || wakes_of(e, inbox) == *seen))
    if (pthread_cond_timedwait(&e->cond, &e->lock, &ts) == ETIMEDOUT) break;
  int stop = e->stop;
  pthread_mutex_unlock(&e->lock);
  return stop;
}

static int idle(struct sc_sync_engine *e, unsigned long seen, int inbox) {
  return sleep_for(e, e->o.poll_ms, &seen, inbox);
}

static unsigned long snapshot(struct sc_sync_engine *e, int *stop, int inbox) {
  pthread_mutex_lock(&e->lock);
  unsigned long w = wakes_of(e, inbox);
  *stop = e->stop;
  pthread_mutex_unlock(&e->lock);
  return w;
}

/* Acknowledging comes first: a provider that times out on a slow answer
** retries or, for some, disables the webhook, while applying late only
** delays. So while deliveries keep arriving (one in the last 50 ms), each
** worker rests twice as long as its last batch took, applying at about a
** third of its pace until the burst ends; the backlog is visible as
** inbox lag in /metrics. */
static void *inbox_loop(void *arg) {
  struct sc_sync_engine *e = arg;
  for (;;) {
    int stop;
    unsigned long seen = snapshot(e, &stop, 1);
    if (stop) break;
    int n = 0;
    struct sc_error err;
    int64_t t0 = sc_plugin_monotonic_ms();
    int rc = sc_inbox_run_batch(e->pool, e->reg, SC_SYNC_INBOX_BATCH, &n, &err);
    if (rc) sc_log_error("event=inbox_error error=\"%s\"", err.message);
    int64_t took = sc_plugin_monotonic_ms() - t0;
    if (!rc && n && sc_ingest_recent(e->ingest, 50) && sleep_for(e, 2 * (took < 250 ? took : 250), NULL, 1)) break;
    if (!rc && n) continue;
    if (idle(e, seen, 1)) break;
  }
  return NULL;
}

/* After a reload, tell every daemon's enqueue what the plugins can do.
** One scheduler thread does it; the others go on syncing meanwhile. */
static void record_caps(struct sc_sync_engine *e) {
  if (pthread_mutex_trylock(&e->caps_lock)) return;
  struct sc_generation *g = sc_registry_acquire(e->reg);
  if (g->number != e->caps_generation) {
    static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};
    struct sc_error err;
    PGconn *c = sc_db_acquire(e->pool);
    int rc = sc_db_begin(c, &platform, &err);
    if (!rc) rc = sc_outbox_record_caps(c, g, &err);
    rc = sc_db_end(c, rc, &err);
    sc_db_release(e->pool, c);
    if (rc) sc_log_error("event=record_caps_failed error=\"%s\"", err.message);
    else e->caps_generation = g->number;
  }
  sc_registry_release(g);
  pthread_mutex_unlock(&e->caps_lock);
}

static void *sched_loop(void *arg) {
  struct sched_thread *st = arg;
  struct sc_sync_engine *e = st->e;
  for (;;) {
    int stop;
    unsigned long seen = snapshot(e, &stop, 0);
    if (stop) break;
    record_caps(e);
    struct sc_sched_report rep;
    struct sc_error err;
    int rc = sc_sched_run_once(e->pool, e->reg, &st->o, &rep, &err);
    if (rc) sc_log_error("event=sync_error error=\"%s\"", err.message);
    if (!rc && rep.outcome != SC_SCHED_IDLE) continue;
    if (idle(e, seen, 0)) break;
  }
  return NULL;
}

/* Inbox threads first, then the scheduler threads, each scheduler named
** "<daemon>/s<N>". */
static int start_threads(struct sc_sync_engine *e, int inbox, int sched, struct sc_error *err) {
  e->threads = calloc((size_t)inbox + (size_t)sched, sizeof *e->threads);
  e->sched = calloc((size_t)sched, sizeof *e->sched);
  if (!e->threads || !e->sched) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  char name[128];
  sc_process_name(name, sizeof name, e->o.sched.holder);
  for (int i = 0; i < sched; i++) {
    e->sched[i] = (struct sched_thread){.e = e, .o = e->o.sched};
    snprintf(e->sched[i].holder, sizeof e->sched[i].holder, "%.100s/s%d", name, i);
    e->sched[i].o.holder = e->sched[i].holder;
  }
  for (int i = 0; i < inbox + sched; i++) {
    int failed = i >= inbox ? pthread_create(&e->threads[i], NULL, sched_loop, &e->sched[i - inbox])
                            : pthread_create(&e->threads[i], NULL, inbox_loop, e);
    if (failed) return sc_error_set(err, SC_EINTERNAL, NULL, "could not start the sync threads");
    e->n_threads++;
  }
  return SC_OK;
}

int sc_sync_engine_start(struct sc_db_pool *pool, struct sc_registry *reg,
                         const struct sc_sync_engine_options *opts,
                         struct sc_sync_engine **out, struct sc_error *err) {
  struct sc_sync_engine *e = calloc(1, sizeof *e);
  if (!e) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  e->pool = pool;
  e->reg = reg;
  if (opts) e->o = *opts;
  sc_sync_engine_options_from_env(&e->o);
  int inbox = e->o.inbox_workers > 0 ? e->o.inbox_workers : 2;
  int sched = e->o.schedulers > 0 ? e->o.schedulers : 2;
  pthread_mutex_init(&e->lock, NULL);
  pthread_mutex_init(&e->caps_lock, NULL);
  pthread_cond_init(&e->cond, NULL);
  int rc = sc_outbox_start(pool, reg, &e->o.outbox, &e->outbox, err);
  if (!rc) rc = sc_ingest_start(pool, &e->ingest, err);
  if (!rc) rc = start_threads(e, inbox, sched, err);
  if (rc) {
    sc_sync_engine_stop(e);
    return rc;
  }
  *out = e;
  return SC_OK;
}

void sc_sync_engine_wake(struct sc_sync_engine *e) {
  if (!e) return;
  sc_outbox_wake(e->outbox);
  pthread_mutex_lock(&e->lock);
  e->wakes++;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
}

void sc_sync_engine_wake_inbox(struct sc_sync_engine *e) {
  if (!e) return;
  pthread_mutex_lock(&e->lock);
  e->inbox_wakes++;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
}

struct sc_ingest *sc_sync_engine_ingest(struct sc_sync_engine *e) { return e->ingest; }

void sc_sync_engine_stop(struct sc_sync_engine *e) {
  if (!e) return;
  pthread_mutex_lock(&e->lock);
  e->stop = 1;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  for (int i = 0; i < e->n_threads; i++) pthread_join(e->threads[i], NULL);
  sc_outbox_stop(e->outbox);
  sc_ingest_stop(e->ingest);
  free(e->threads);
  free(e->sched);
  pthread_mutex_destroy(&e->lock);
  pthread_mutex_destroy(&e->caps_lock);
  pthread_cond_destroy(&e->cond);
  free(e);
}
