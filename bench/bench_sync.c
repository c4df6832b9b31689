/* Benchmark: periodic sync through the scheduler (core/sync_scheduler.c)
** with the scripted test connector, against a real PostgreSQL. Prints, per
** round (a fresh database each), the initial full sync of N events (each
** imported in a short transaction of its own, as the listing reports it)
** and a second full sync that finds nothing changed; then the medians and
** the server's durability settings.
** Needs SIDECAL_TEST_PG_URL (scripts/bench sets it).
** Usage: build/bench/bench_sync [EVENTS] [ROUNDS] */
#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync_fixture.h"
#include "sync_scheduler.h"

static const struct sc_sched_options opts = {.holder = "bench", .interval_ms = 300000};

/* n events at the location provider, spread over the next 80 days. */
static void seed(const char *state, int n) {
  json_object *st = json_object_new_object(), *events = json_object_new_object();
  long long now = g_get_real_time() / 1000000;
  for (int i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "ev-%d", i);
    long long start = now + 86400 + (long long)(i % 80) * 86400 + (i / 80 % 20) * 1800;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_string(id));
    json_object_object_add(e, "start", json_object_new_int64(start));
    json_object_object_add(e, "end", json_object_new_int64(start + 1800));
    json_object_object_add(e, "title", json_object_new_string("Bench"));
    json_object_object_add(e, "status", json_object_new_int(1));
    json_object_object_add(e, "etag", json_object_new_string("e1"));
    json_object_object_add(e, "seq", json_object_new_int64(i + 1));
    json_object_object_add(events, id, e);
  }
  json_object_object_add(st, "events", events);
  json_object_object_add(st, "seq", json_object_new_int64(n));
  if (json_object_to_file(state, st)) g_error("cannot write %s", state);
  json_object_put(st);
}

static double timed_sync(struct fx *f, int *events) {
  struct sc_sched_report rep;
  struct sc_error err;
  gint64 t0 = g_get_monotonic_time();
  if (sc_sched_run_once(f->pool, f->reg, &opts, &rep, &err)) g_error("sync: %s", err.message);
  if (rep.outcome != SC_SCHED_SYNCED) g_error("sync outcome %d: %s", rep.outcome, rep.error);
  *events = rep.events;
  return (double)(g_get_monotonic_time() - t0) / 1000.0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000, rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (n < 1 || rounds < 1 || rounds > 20) g_error("usage: bench_sync [EVENTS] [ROUNDS<=20]");
  double first[20], again[20];
  char *durability = NULL;
  for (int r = 0; r < rounds; r++) {
    struct fx f;
    fx_init(&f);
    seed(f.state, n);
    int e1 = 0, e2 = 0;
    first[r] = timed_sync(&f, &e1);
    g_free(q(&f, "UPDATE sync_leases SET cursor = NULL, next_sync_at = now()"));
    again[r] = timed_sync(&f, &e2);
    printf("round %d: initial full sync of %d events %.0f ms (%.2f ms/event); unchanged full sync %.0f ms\n",
           r + 1, e1, first[r], first[r] / e1, again[r]);
    if (!durability)
      durability = q(&f, "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings"
                         " WHERE name IN ('fsync','synchronous_commit','wal_sync_method','full_page_writes')");
    fx_free(&f);
  }
  qsort(first, (size_t)rounds, sizeof *first, cmp);
  qsort(again, (size_t)rounds, sizeof *again, cmp);
  printf("sync of %d events, median of %d: initial %.0f ms, unchanged %.0f ms; postgresql: %s\n", n, rounds,
         first[rounds / 2], again[rounds / 2], durability);
  g_free(durability);
  return 0;
}
