/* The sliding-log request budget (see ghl_rate.h). */
#include "ghl_rate.h"

#include <stdlib.h>

/* While the oldest slot is in flight we cannot know when it frees up. */
#define IN_FLIGHT_POLL_MS 20

int ghl_rate_init(struct ghl_rate *r, uint32_t max, int64_t window_ms) {
  r->slots = calloc(max, sizeof *r->slots);
  if (!r->slots) return -1;
  for (uint32_t i = 0; i < max; i++) r->slots[i] = INT64_MIN / 2;
  r->max = max;
  r->head = 0;
  r->window_ms = window_ms;
  r->blocked_until = 0;
  pthread_mutex_init(&r->lock, NULL);
  return 0;
}

void ghl_rate_free(struct ghl_rate *r) {
  if (!r->slots) return;
  pthread_mutex_destroy(&r->lock);
  free(r->slots);
  r->slots = NULL;
}

int64_t ghl_rate_take(struct ghl_rate *r, int64_t now, uint32_t *slot) {
  int64_t wait = 0;
  pthread_mutex_lock(&r->lock);
  int64_t oldest = r->slots[r->head];
  if (r->blocked_until > now) wait = r->blocked_until - now;
  else if (oldest == INT64_MAX) wait = IN_FLIGHT_POLL_MS;
  else if (oldest + r->window_ms > now) wait = oldest + r->window_ms - now;
  if (!wait) {
    *slot = r->head;
    r->slots[r->head] = INT64_MAX;
    r->head = (r->head + 1) % r->max;
  }
  pthread_mutex_unlock(&r->lock);
  return wait;
}

void ghl_rate_done(struct ghl_rate *r, uint32_t slot, int64_t now) {
  pthread_mutex_lock(&r->lock);
  if (slot < r->max) r->slots[slot] = now;
  pthread_mutex_unlock(&r->lock);
}

void ghl_rate_block(struct ghl_rate *r, int64_t until) {
  pthread_mutex_lock(&r->lock);
  if (until > r->blocked_until) r->blocked_until = until;
  pthread_mutex_unlock(&r->lock);
}
