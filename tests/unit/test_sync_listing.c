/*
** Tests for the recorded listing (core/sync_listing.c): every field a
** writer's struct_size covers is copied (strings and attendees outlive the
** connector's buffers), nothing beyond it is read, events and deletions
** replay in order with the cursor last, and replay stops when the
** receiving sink asks for no more (the cursor is then not handed over),
** and the progress hook's answer stops the listing.
*/
#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "sync_listing.h"

/* A receiving sink that writes what it gets as one line per call. */
struct rx {
  struct sidecal_sink sink;
  GString *log;
  int stop_after;              /* 0: never ask to stop */
  int seen;
};

static int32_t rx_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  struct rx *r = s->host_data;
  g_string_append_printf(r->log, "event %s etag=%s %lld-%lld title=%s tz=%s marker=%s staff=%s att=%u",
                         ev->external_id ? ev->external_id : "(null)", ev->etag ? ev->etag : "(null)",
                         (long long)ev->start_utc, (long long)ev->end_utc, ev->title ? ev->title : "(null)",
                         ev->timezone ? ev->timezone : "(null)",
                         SIDECAL_EVENT_HAS(ev, marker) && ev->marker ? ev->marker : "-",
                         SIDECAL_EVENT_HAS(ev, staff) && ev->staff ? ev->staff : "-", ev->n_attendees);
  for (uint32_t i = 0; i < ev->n_attendees; i++)
    g_string_append_printf(r->log, " [%s|%s|%s]", ev->attendees[i].name, ev->attendees[i].email,
                           ev->attendees[i].phone ? ev->attendees[i].phone : "(null)");
  g_string_append_c(r->log, '\n');
  return r->stop_after && ++r->seen >= r->stop_after;
}

static int32_t rx_deleted(const struct sidecal_sink *s, const char *id) {
  struct rx *r = s->host_data;
  g_string_append_printf(r->log, "deleted %s\n", id);
  return r->stop_after && ++r->seen >= r->stop_after;
}

static void rx_cursor(const struct sidecal_sink *s, const char *c) {
  struct rx *r = s->host_data;
  g_string_append_printf(r->log, "cursor %s\n", c);
}

static void rx_init(struct rx *r, int stop_after) {
  r->log = g_string_new("");
  r->stop_after = stop_after;
  r->seen = 0;
  r->sink = (struct sidecal_sink){.struct_size = sizeof r->sink, .host_data = r, .event = rx_event,
                                  .deleted = rx_deleted, .cursor = rx_cursor};
}

/* Reports what a connector would, from buffers it reuses and clears
** afterwards, so a copy that kept pointers would read garbage. */
static struct sc_listing *record(void) {
  struct sc_listing *l = sc_listing_new();
  const struct sidecal_sink *s = sc_listing_sink(l);
  char id[32], title[32], name[32], email[32];
  strcpy(id, "ev-1"), strcpy(title, "Cut"), strcpy(name, "Ann"), strcpy(email, "ann@example.com");
  struct sidecal_attendee att[1] = {{name, email, NULL}};
  struct sidecal_event ev = {.struct_size = sizeof ev, .status = SIDECAL_EVENT_CONFIRMED,
                             .external_id = id, .etag = "e1", .start_utc = 100, .end_utc = 200,
                             .timezone = "Europe/London", .n_attendees = 1, .attendees = att,
                             .title = title, .marker = "sidecal:abc", .staff = "ann"};
  g_assert_cmpint(s->event(s, &ev), ==, 0);
  s->deleted(s, "ev-0");
  s->cursor(s, "seq:1");
  /* An ABI 1.0 writer: its struct ends before `marker`; what lies beyond
  ** in memory is not its to report. */
  strcpy(id, "ev-2"), strcpy(title, "Old");
  struct sidecal_event old = ev;
  old.struct_size = offsetof(struct sidecal_event, marker);
  old.n_attendees = 0;
  old.marker = "sidecal:garbage";
  old.staff = "garbage";
  g_assert_cmpint(s->event(s, &old), ==, 0);
  s->cursor(s, "seq:2");                         /* the last one counts */
  memset(id, 'x', sizeof id - 1), memset(title, 'x', sizeof title - 1);
  memset(name, 'x', sizeof name - 1), memset(email, 'x', sizeof email - 1);
  return l;
}

/* What a receiving sink got from a replay (g_free). */
static char *replayed(const struct sc_listing *l, int stop_after) {
  struct rx r;
  rx_init(&r, stop_after);
  sc_listing_replay(l, &r.sink);
  return g_string_free(r.log, FALSE);
}

#define FIRST_EVENT \
  "event ev-1 etag=e1 100-200 title=Cut tz=Europe/London marker=sidecal:abc staff=ann att=1" \
  " [Ann|ann@example.com|(null)]\n"

static void test_replays_copies_in_order(void) {
  struct sc_listing *l = record();
  g_assert_cmpuint(sc_listing_count(l), ==, 3);
  char *got = replayed(l, 0);
  g_assert_cmpstr(got, ==,
                  FIRST_EVENT "deleted ev-0\n"
                  "event ev-2 etag=e1 100-200 title=Old tz=Europe/London marker=- staff=- att=0\n"
                  "cursor seq:2\n");
  g_free(got);
  sc_listing_free(l);
}

static void test_replay_stops_when_asked(void) {
  struct sc_listing *l = record();
  char *got = replayed(l, 2);
  g_assert_cmpstr(got, ==, FIRST_EVENT "deleted ev-0\n");
  g_free(got);
  sc_listing_free(l);
}

/* The scheduler's lease keeper: its answer after each recorded change
** becomes the sink's "no more". */
static int stop_after_two(void *arg) {
  int *n = arg;
  return ++*n >= 2;
}

static void test_progress_can_stop_the_listing(void) {
  struct sc_listing *l = sc_listing_new();
  int n = 0;
  sc_listing_on_progress(l, stop_after_two, &n);
  const struct sidecal_sink *s = sc_listing_sink(l);
  struct sidecal_event ev = {.struct_size = sizeof ev, .external_id = "a", .start_utc = 1, .end_utc = 2};
  g_assert_cmpint(s->event(s, &ev), ==, 0);
  g_assert_cmpint(s->deleted(s, "b"), !=, 0);
  g_assert_cmpint(n, ==, 2);
  g_assert_cmpuint(sc_listing_count(l), ==, 2);   /* what was reported is kept */
  sc_listing_free(l);
}

static void test_empty(void) {
  struct sc_listing *l = sc_listing_new();
  char *got = replayed(l, 0);
  g_assert_cmpstr(got, ==, "");
  g_assert_cmpuint(sc_listing_count(l), ==, 0);
  g_free(got);
  sc_listing_free(l);
  sc_listing_free(NULL);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sync_listing/replays_copies_in_order", test_replays_copies_in_order);
  g_test_add_func("/sync_listing/replay_stops_when_asked", test_replay_stops_when_asked);
  g_test_add_func("/sync_listing/progress_can_stop_the_listing", test_progress_can_stop_the_listing);
  g_test_add_func("/sync_listing/empty", test_empty);
  return g_test_run();
}
