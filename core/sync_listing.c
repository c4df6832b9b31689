/*
** A recorded listing (see sync_listing.h).
*/
#include "sync_listing.h"

#include <glib.h>
#include <string.h>

struct op {
  struct sidecal_event ev;   /* when `deleted` is NULL */
  char *deleted;
};

struct sc_listing {
  struct sidecal_sink sink;
  GArray *ops;               /* struct op */
  GStringChunk *strings;     /* every copied string, freed at once */
  GPtrArray *attendees;      /* struct sidecal_attendee arrays */
  char *cursor;
  int (*progress)(void *arg);
  void *progress_arg;
};

static int32_t progressed(struct sc_listing *l) {
  return l->progress && l->progress(l->progress_arg) ? 1 : 0;
}

static const char *keep(struct sc_listing *l, const char *s) {
  return s ? g_string_chunk_insert(l->strings, s) : NULL;
}

/* The fields the writer's struct_size covers; the rest stay zero, as a
** reader of a shorter struct must assume. */
static void copy_event(struct sc_listing *l, const struct sidecal_event *in, struct sidecal_event *ev) {
  memset(ev, 0, sizeof *ev);
  memcpy(ev, in, in->struct_size < sizeof *ev ? in->struct_size : sizeof *ev);
  ev->struct_size = in->struct_size < sizeof *ev ? in->struct_size : (uint32_t)sizeof *ev;
  ev->external_id = keep(l, in->external_id);
  ev->etag = keep(l, in->etag);
  ev->timezone = keep(l, in->timezone);
  ev->title = keep(l, in->title);
  ev->description = keep(l, in->description);
  ev->location = keep(l, in->location);
  ev->raw_json = keep(l, in->raw_json);
  if (SIDECAL_EVENT_HAS(in, marker)) ev->marker = keep(l, in->marker);
  if (SIDECAL_EVENT_HAS(in, replaces_external_id))
    ev->replaces_external_id = keep(l, in->replaces_external_id);
  if (SIDECAL_EVENT_HAS(in, event_type)) ev->event_type = keep(l, in->event_type);
  if (SIDECAL_EVENT_HAS(in, appointment_status))
    ev->appointment_status = keep(l, in->appointment_status);
  if (SIDECAL_EVENT_HAS(in, staff)) ev->staff = keep(l, in->staff);
  if (in->n_attendees && in->attendees) {
    struct sidecal_attendee *a = g_new0(struct sidecal_attendee, in->n_attendees);
    for (uint32_t i = 0; i < in->n_attendees; i++)
      a[i] = (struct sidecal_attendee){keep(l, in->attendees[i].name), keep(l, in->attendees[i].email),
                                       keep(l, in->attendees[i].phone)};
    g_ptr_array_add(l->attendees, a);
    ev->attendees = a;
  } else {
    ev->n_attendees = 0;
    ev->attendees = NULL;
  }
}

static int32_t on_event(const struct sidecal_sink *sink, const struct sidecal_event *ev) {
  struct sc_listing *l = sink->host_data;
  if (!ev) return 0;
  struct op o = {0};
  copy_event(l, ev, &o.ev);
  g_array_append_val(l->ops, o);
  return progressed(l);
}

static int32_t on_deleted(const struct sidecal_sink *sink, const char *external_id) {
  struct sc_listing *l = sink->host_data;
  if (!external_id || !*external_id) return 0;
  struct op o = {.deleted = (char *)keep(l, external_id)};
  g_array_append_val(l->ops, o);
  return progressed(l);
}

static void on_cursor(const struct sidecal_sink *sink, const char *cursor) {
  struct sc_listing *l = sink->host_data;
  g_free(l->cursor);
  l->cursor = g_strdup(cursor);
}

static int32_t on_busy(const struct sidecal_sink *sink, int64_t start, int64_t end) {
  (void)sink, (void)start, (void)end;
  return 0;
}

struct sc_listing *sc_listing_new(void) {
  struct sc_listing *l = g_new0(struct sc_listing, 1);
  l->sink = (struct sidecal_sink){.struct_size = sizeof l->sink, .host_data = l, .event = on_event,
                                  .deleted = on_deleted, .cursor = on_cursor, .busy = on_busy};
  l->ops = g_array_new(FALSE, FALSE, sizeof(struct op));
  l->strings = g_string_chunk_new(4096);
  l->attendees = g_ptr_array_new_with_free_func(g_free);
  return l;
}

const struct sidecal_sink *sc_listing_sink(struct sc_listing *l) { return &l->sink; }

void sc_listing_on_progress(struct sc_listing *l, int (*fn)(void *arg), void *arg) {
  l->progress = fn;
  l->progress_arg = arg;
}

size_t sc_listing_count(const struct sc_listing *l) { return l->ops->len; }

void sc_listing_replay(const struct sc_listing *l, const struct sidecal_sink *to) {
  for (guint i = 0; i < l->ops->len; i++) {
    const struct op *o = &g_array_index(l->ops, struct op, i);
    if (o->deleted ? to->deleted(to, o->deleted) : to->event(to, &o->ev)) return;
  }
  if (l->cursor) to->cursor(to, l->cursor);
}

void sc_listing_free(struct sc_listing *l) {
  if (!l) return;
  g_array_free(l->ops, TRUE);
  g_string_chunk_free(l->strings);
  g_ptr_array_free(l->attendees, TRUE);
  g_free(l->cursor);
  g_free(l);
}
