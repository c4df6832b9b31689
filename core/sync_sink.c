/*
** The applying sink (see sync_sink.h).
*/
#include "sync_sink.h"

#include <stdio.h>
#include <string.h>

static int32_t on_event(const struct sidecal_sink *sink, const struct sidecal_event *ev) {
  struct sc_apply_sink *s = sink->host_data;
  if (s->rc) return 1;
  if (s->seen && ev->external_id) g_hash_table_add(s->seen, g_strdup(ev->external_id));
  s->rc = sc_sync_apply_event(s->conn, s->target, ev, &s->counts, &s->err);
  return s->rc != 0;
}

static int32_t on_deleted(const struct sidecal_sink *sink, const char *external_id) {
  struct sc_apply_sink *s = sink->host_data;
  if (s->rc) return 1;
  if (!external_id || !*external_id) return 0;
  s->rc = sc_sync_apply_deleted(s->conn, s->target, external_id, &s->counts, &s->err);
  return s->rc != 0;
}

static void on_cursor(const struct sidecal_sink *sink, const char *cursor) {
  struct sc_apply_sink *s = sink->host_data;
  if (!cursor || strlen(cursor) >= sizeof s->cursor) return;
  snprintf(s->cursor, sizeof s->cursor, "%s", cursor);
  s->has_cursor = 1;
}

static int32_t on_busy(const struct sidecal_sink *sink, int64_t start, int64_t end) {
  (void)sink, (void)start, (void)end;
  return 0;
}

void sc_apply_sink_init(struct sc_apply_sink *s, PGconn *conn, const struct sc_sync_target *t) {
  memset(s, 0, sizeof *s);
  s->sink = (struct sidecal_sink){.struct_size = sizeof s->sink, .host_data = s,
                                  .event = on_event, .deleted = on_deleted,
                                  .cursor = on_cursor, .busy = on_busy};
  s->conn = conn;
  s->target = t;
}
