/*
** The applying sink (see sync_sink.h).
*/
#include "sync_sink.h"

#include <stdio.h>
#include <string.h>

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};

/* One change: in the caller's transaction, or in a short one of its own. */
static int32_t apply(struct sc_apply_sink *s, const struct sidecal_event *ev, const char *deleted) {
  PGconn *c = s->conn ? s->conn : sc_db_acquire(s->pool);
  int rc = s->conn ? SC_OK : sc_db_begin(c, &platform, &s->err);
  if (!rc)
    rc = ev ? sc_sync_apply_event(c, s->target, ev, &s->counts, &s->err)
            : sc_sync_apply_deleted(c, s->target, deleted, &s->counts, &s->err);
  if (!s->conn) {
    rc = sc_db_end(c, rc, &s->err);
    sc_db_release(s->pool, c);
  }
  s->rc = rc;
  return rc || (s->each && s->each(s->each_arg));
}

static int32_t on_event(const struct sidecal_sink *sink, const struct sidecal_event *ev) {
  struct sc_apply_sink *s = sink->host_data;
  if (s->rc) return 1;
  if (s->seen && ev->external_id) g_hash_table_add(s->seen, g_strdup(ev->external_id));
  return apply(s, ev, NULL);
}

static int32_t on_deleted(const struct sidecal_sink *sink, const char *external_id) {
  struct sc_apply_sink *s = sink->host_data;
  if (s->rc) return 1;
  if (!external_id || !*external_id) return 0;
  return apply(s, NULL, external_id);
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

void sc_apply_sink_init_pool(struct sc_apply_sink *s, struct sc_db_pool *pool,
                             const struct sc_sync_target *t) {
  sc_apply_sink_init(s, NULL, t);
  s->pool = pool;
}
