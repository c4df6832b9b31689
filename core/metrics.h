/*
** Process metrics in Prometheus text format (GET /metrics):
**   sidecal_http_requests_total{route,method,status}
**   sidecal_http_request_duration_seconds{route} (histogram)
**   sidecal_db_pool_in_use, sidecal_db_pool_waits_total
**   sidecal_db_queries_total{route}
** plus any counter a module or connector registers by name.
** All functions are thread-safe and cheap enough for every request.
*/
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stddef.h>

struct sc_db_pool;

void sc_metrics_init(void);
void sc_metrics_shutdown(void);

/* The HTTP server's observe hook calls this once per request. */
void sc_metrics_observe_request(const char *route, const char *method,
                                int status, double seconds);

/* The route the current thread is serving; sc_db_exec counts queries
** against it ("(none)" outside requests). */
void sc_metrics_set_route(const char *route);
void sc_metrics_count_query(void);
/* Queries counted for a route so far (tests use it to prove a cache hit). */
long sc_metrics_queries_for(const char *route);

/* Adds to a named counter, e.g. "sidecal_sync_jobs_dead_total". Labels
** may be NULL or a preformatted label set like `instance="acme.miami.ghl"`. */
void sc_metrics_counter_add(const char *name, const char *labels, double v);

/* A module with its own cheap counters (e.g. atomics) prints them itself
** when /metrics renders, in Prometheus text format, instead of paying for
** sc_metrics_counter_add on a hot path. At most 8; not removable. */
#include <stdio.h>
typedef void (*sc_metrics_collector)(FILE *out, void *ud);
void sc_metrics_add_collector(sc_metrics_collector fn, void *ud);

/* Renders everything; *out is malloc'd. pool may be NULL. */
int sc_metrics_render(struct sc_db_pool *pool, char **out, size_t *len);

#endif
