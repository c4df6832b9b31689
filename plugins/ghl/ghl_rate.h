/*
** The client-side request budget of one GHL location: at most `max`
** requests in any `window_ms` (GHL: 100 per 10 s per app per location).
**
** A sliding log, not a refilling bucket: a bucket lets through up to twice
** its size in one window (a full bucket, then a window's refill). A slot
** is taken when a request is sent and stamped when its answer arrived, so
** the provider, which counts on arrival, never sees more than `max` in any
** window even when requests overlap. ghl_rate_block() honours the
** provider's own signal (X-RateLimit-Remaining: 0, a 429) until a time.
** Thread-safe. Times are the caller's monotonic milliseconds.
*/
#ifndef GHL_RATE_H
#define GHL_RATE_H

#include <pthread.h>
#include <stdint.h>

struct ghl_rate {
  pthread_mutex_t lock;
  int64_t *slots;        /* completion times; INT64_MAX while in flight */
  uint32_t max;
  uint32_t head;         /* the oldest slot: the next one to reuse */
  int64_t window_ms;
  int64_t blocked_until;
};

/* 0, or -1 when memory ran out. max >= 1, window_ms >= 1. */
int ghl_rate_init(struct ghl_rate *r, uint32_t max, int64_t window_ms);
void ghl_rate_free(struct ghl_rate *r);
/* Takes a slot (0 and *slot set) or says how long to wait (> 0 ms). */
int64_t ghl_rate_take(struct ghl_rate *r, int64_t now, uint32_t *slot);
/* The request in `slot` got its answer (or failed) at `now`. */
void ghl_rate_done(struct ghl_rate *r, uint32_t slot, int64_t now);
/* Sends nothing before `until`. */
void ghl_rate_block(struct ghl_rate *r, int64_t until);

#endif
