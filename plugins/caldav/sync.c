/*
** list_events and free_busy over CalDAV: calendar-query for full syncs,
** sync-collection (RFC 6578) plus calendar-multiget for incremental ones.
*/
#include "sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dav_xml.h"
#include "discovery.h"
#include "ics_read.h"

#define MULTIGET_BATCH 200
#define MAX_TRUNCATED_ROUNDS 100
#define NS_DAV "DAV:"

struct run {
  struct caldav *cd;
  const struct sidecal_call_ctx *ctx;
  const struct sidecal_sink *sink;
  struct sidecal_window w;
  char *cal;          /* calendar URL */
  int stopped;        /* the sink wants no more */
  uint64_t reported;
};

static int32_t fail(struct sidecal_result *res, int32_t code, const char *fmt, const char *arg) {
  char msg[SIDECAL_MESSAGE_MAX];
  snprintf(msg, sizeof msg, fmt, arg);
  return sidecal_result_set(res, code, 0, msg);
}

static int32_t report(struct run *r, const char *depth, const char *body,
                      struct sidecal_http_response *resp, struct sidecal_result *res) {
  struct cd_req q = {.method = "REPORT", .url = r->cal, .depth = depth,
                     .content_type = "application/xml; charset=utf-8", .body = body,
                     .body_len = strlen(body)};
  return cd_request(&r->cd->conn, r->ctx, &q, resp, res);
}

/* Expands one resource, reports its occurrences and records their ids. */
static void emit_resource(struct run *r, const char *href, const char *etag, const char *ics,
                          struct cd_entry *entry) {
  struct cd_occs occs = {0};
  char why[128];
  if (cd_ics_expand(href, ics, r->w.start_utc, r->w.end_utc, CD_MAX_OCCURRENCES, &occs, why,
                    sizeof why)) {
    cd_host->log(r->ctx->host_instance, SIDECAL_LOG_WARN, "request=%s %s skipped: %s",
                 r->ctx->request_id, href, why);
    return;
  }
  for (size_t i = 0; i < occs.n && !r->stopped; i++) {
    const struct cd_occ *o = &occs.v[i];
    if (o->transparent) continue; /* free time: not reported, so it blocks nothing */
    struct sidecal_event ev = {
      .struct_size = sizeof ev, .status = o->status, .external_id = o->id, .etag = etag,
      .start_utc = o->start, .end_utc = o->end, .timezone = o->tzid, .all_day = o->all_day,
      .title = o->title, .description = o->description, .location = o->location,
      .last_modified_utc = o->last_modified, .marker = occs.marker};
    g_ptr_array_add(entry->ids, g_strdup(o->id));
    r->reported++;
    if (r->sink->event(r->sink, &ev)) r->stopped = 1;
  }
  cd_occs_clear(&occs);
}

static void clamp_window(const struct caldav *cd, const struct sidecal_window *in,
                         struct sidecal_window *out) {
  *out = *in;
  if (out->end_utc - out->start_utc > cd->max_window_s)
    out->end_utc = out->start_utc + cd->max_window_s;
}

static int32_t begin(struct run *r, struct caldav *cd, const struct sidecal_call_ctx *ctx,
                     const struct sidecal_window *window, const struct sidecal_sink *sink,
                     struct sidecal_result *res) {
  *r = (struct run){.cd = cd, .ctx = ctx, .sink = sink};
  if (window->end_utc <= window->start_utc)
    return sidecal_error(res, "the sync window is empty");
  clamp_window(cd, window, &r->w);
  return cd_calendar_url(cd, ctx, &r->cal, res);
}

/* ---- full sync -------------------------------------------------------- */

static int32_t query_window(struct run *r, struct cd_multistatus *ms, struct sidecal_result *res) {
  char *body = cd_body_calendar_query(r->w.start_utc, r->w.end_utc, 1);
  struct sidecal_http_response resp;
  int32_t rc = report(r, "1", body, &resp, res);
  g_free(body);
  if (rc != SIDECAL_OK) return rc;
  char why[128];
  if (resp.status != 207) rc = cd_status_result(&resp, "REPORT calendar-query", r->cal, res);
  else if (cd_multistatus_parse(resp.body, resp.body_len, ms, why, sizeof why))
    rc = fail(res, SIDECAL_ERROR, "REPORT calendar-query: %s", why);
  cd_host->http_response_free(&resp);
  return rc;
}

static int32_t current_token(struct run *r, char **token, struct sidecal_result *res) {
  char *body = cd_body_propfind_sync_token();
  struct cd_multistatus ms = {0};
  int32_t rc = cd_propfind(&r->cd->conn, r->ctx, r->cal, "0", body, &ms, NULL, res);
  g_free(body);
  *token = NULL;
  if (rc == SIDECAL_OK) *token = g_strdup(ms.n && ms.r[0].sync_token ? ms.r[0].sync_token : "");
  cd_multistatus_free(&ms);
  return rc;
}

static void emit_cursor(struct run *r, uint64_t id, const char *token) {
  char *cursor = g_strdup_printf("cd1:%016" PRIx64 ":%s", id, token);
  if (strlen(cursor) <= 4096) r->sink->cursor(r->sink, cursor);
  g_free(cursor);
}

static int32_t full_sync(struct run *r, struct sidecal_result *res) {
  char *token = NULL;
  int32_t rc = current_token(r, &token, res); /* before the query: later changes are seen next time */
  struct cd_multistatus ms = {0};
  if (rc == SIDECAL_OK) rc = query_window(r, &ms, res);
  if (rc != SIDECAL_OK) {
    g_free(token);
    return rc;
  }
  GHashTable *map = cd_map_new();
  for (size_t i = 0; i < ms.n && !r->stopped; i++) {
    const struct cd_dav_response *d = &ms.r[i];
    if (!d->calendar_data) continue;
    struct cd_entry *e = cd_entry_new(d->etag);
    emit_resource(r, d->href, d->etag, d->calendar_data, e);
    g_hash_table_replace(map, g_strdup(d->href), e);
  }
  cd_multistatus_free(&ms);
  if (r->stopped) {
    g_hash_table_unref(map);
  } else {
    emit_cursor(r, cd_cache_store(&r->cd->cache, map), token);
  }
  g_free(token);
  return sidecal_ok(res);
}

/* ---- incremental sync ------------------------------------------------- */

struct changes {
  GPtrArray *changed;   /* char* href */
  GPtrArray *etags;     /* char* etag, parallel */
  GPtrArray *deleted;   /* char* href */
  char *token;
};

static void changes_init(struct changes *ch, const char *token) {
  ch->changed = g_ptr_array_new_with_free_func(g_free);
  ch->etags = g_ptr_array_new_with_free_func(g_free);
  ch->deleted = g_ptr_array_new_with_free_func(g_free);
  ch->token = g_strdup(token);
}

static void changes_clear(struct changes *ch) {
  g_ptr_array_unref(ch->changed);
  g_ptr_array_unref(ch->etags);
  g_ptr_array_unref(ch->deleted);
  g_free(ch->token);
}

static int same_path(const char *href, const char *cal) {
  const char *a = cd_url_path(href), *b = cd_url_path(cal);
  size_t la = strlen(a), lb = strlen(b);
  while (la && a[la - 1] == '/') la--;
  while (lb && b[lb - 1] == '/') lb--;
  return la == lb && !strncmp(a, b, la);
}

/* One sync-collection round; *truncated when the server answered 507 for
** the collection itself (more changes behind the returned token). */
static int32_t sync_round(struct run *r, struct changes *ch, int *truncated,
                          struct sidecal_result *res) {
  char *body = cd_body_sync_collection(ch->token);
  struct sidecal_http_response resp;
  int32_t rc = report(r, "0", body, &resp, res);
  g_free(body);
  if (rc != SIDECAL_OK) return rc;
  *truncated = 0;
  struct cd_multistatus ms = {0};
  char why[128];
  if ((resp.status == 403 || resp.status == 409) &&
      cd_xml_has_element(resp.body, resp.body_len, NS_DAV, "valid-sync-token")) {
    rc = sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                            "the CalDAV server no longer knows the sync token; full sync needed");
  } else if (resp.status != 207) {
    rc = cd_status_result(&resp, "REPORT sync-collection", r->cal, res);
  } else if (cd_multistatus_parse(resp.body, resp.body_len, &ms, why, sizeof why)) {
    rc = fail(res, SIDECAL_ERROR, "REPORT sync-collection: %s", why);
  }
  cd_host->http_response_free(&resp);
  for (size_t i = 0; rc == SIDECAL_OK && i < ms.n; i++) {
    const struct cd_dav_response *d = &ms.r[i];
    if (same_path(d->href, r->cal)) {
      if (d->status == 507) *truncated = 1;
    } else if (d->status == 404) {
      g_ptr_array_add(ch->deleted, g_strdup(d->href));
    } else {
      g_ptr_array_add(ch->changed, g_strdup(d->href));
      g_ptr_array_add(ch->etags, g_strdup(d->etag));
    }
  }
  if (rc == SIDECAL_OK && ms.sync_token) {
    g_free(ch->token);
    ch->token = g_strdup(ms.sync_token);
  }
  cd_multistatus_free(&ms);
  return rc;
}

/* Servers without sync-collection: list every member's ETag (Depth 1);
** what we hold and the server no longer lists is deleted. */
static int32_t etag_listing(struct run *r, GHashTable *map, struct changes *ch,
                            struct sidecal_result *res) {
  char *body = g_strdup("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propfind xmlns:D=\"DAV:\">"
                        "<D:prop><D:getetag/></D:prop></D:propfind>");
  struct cd_multistatus ms = {0};
  int32_t rc = cd_propfind(&r->cd->conn, r->ctx, r->cal, "1", body, &ms, NULL, res);
  g_free(body);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (size_t i = 0; rc == SIDECAL_OK && i < ms.n; i++) {
    const struct cd_dav_response *d = &ms.r[i];
    if (same_path(d->href, r->cal) || !d->etag) continue;
    g_hash_table_add(seen, d->href);
    g_ptr_array_add(ch->changed, g_strdup(d->href));
    g_ptr_array_add(ch->etags, g_strdup(d->etag));
  }
  if (rc == SIDECAL_OK && map) {
    GHashTableIter it;
    gpointer href;
    g_hash_table_iter_init(&it, map);
    while (g_hash_table_iter_next(&it, &href, NULL))
      if (!g_hash_table_contains(seen, href)) g_ptr_array_add(ch->deleted, g_strdup(href));
  }
  g_hash_table_unref(seen);
  cd_multistatus_free(&ms);
  return rc;
}

static void apply_deleted(struct run *r, GHashTable *map, const char *href) {
  struct cd_entry *e = g_hash_table_lookup(map, href);
  if (!e) return; /* never reported (outside the window) */
  for (guint i = 0; i < e->ids->len && !r->stopped; i++)
    if (r->sink->deleted(r->sink, g_ptr_array_index(e->ids, i))) r->stopped = 1;
  g_hash_table_remove(map, href);
}

/* Reports the new state of one fetched resource and deletions of ids it no
** longer has. */
static void apply_changed(struct run *r, GHashTable *map, const struct cd_dav_response *d) {
  struct cd_entry *fresh = cd_entry_new(d->etag);
  emit_resource(r, d->href, d->etag, d->calendar_data, fresh);
  struct cd_entry *old = g_hash_table_lookup(map, d->href);
  for (guint i = 0; old && i < old->ids->len && !r->stopped; i++) {
    const char *id = g_ptr_array_index(old->ids, i);
    int kept = 0;
    for (guint j = 0; j < fresh->ids->len && !kept; j++)
      kept = !strcmp(id, g_ptr_array_index(fresh->ids, j));
    if (!kept && r->sink->deleted(r->sink, id)) r->stopped = 1;
  }
  g_hash_table_replace(map, g_strdup(d->href), fresh);
}

static int32_t fetch_batch(struct run *r, GHashTable *map, const char *const *hrefs, size_t n,
                           struct sidecal_result *res) {
  char *body = cd_body_multiget(hrefs, n);
  struct sidecal_http_response resp;
  int32_t rc = report(r, "1", body, &resp, res);
  g_free(body);
  if (rc != SIDECAL_OK) return rc;
  struct cd_multistatus ms = {0};
  char why[128];
  if (resp.status != 207) rc = cd_status_result(&resp, "REPORT calendar-multiget", r->cal, res);
  else if (cd_multistatus_parse(resp.body, resp.body_len, &ms, why, sizeof why))
    rc = fail(res, SIDECAL_ERROR, "REPORT calendar-multiget: %s", why);
  cd_host->http_response_free(&resp);
  for (size_t i = 0; rc == SIDECAL_OK && i < ms.n && !r->stopped; i++) {
    const struct cd_dav_response *d = &ms.r[i];
    if (d->calendar_data) apply_changed(r, map, d);
    else if (d->status == 404) apply_deleted(r, map, d->href); /* gone since the sync report */
  }
  cd_multistatus_free(&ms);
  return rc;
}

static int32_t apply_changes(struct run *r, GHashTable *map, const struct changes *ch,
                             struct sidecal_result *res) {
  for (guint i = 0; i < ch->deleted->len && !r->stopped; i++)
    apply_deleted(r, map, g_ptr_array_index(ch->deleted, i));
  GPtrArray *todo = g_ptr_array_new();
  for (guint i = 0; i < ch->changed->len; i++) {
    const char *href = g_ptr_array_index(ch->changed, i);
    const char *etag = g_ptr_array_index(ch->etags, i);
    struct cd_entry *e = g_hash_table_lookup(map, href);
    if (e && etag && e->etag && !strcmp(e->etag, etag)) continue; /* what we hold */
    g_ptr_array_add(todo, (gpointer)href);
  }
  int32_t rc = sidecal_ok(res);
  for (guint i = 0; i < todo->len && rc == SIDECAL_OK && !r->stopped; i += MULTIGET_BATCH) {
    if (*r->ctx->cancel) {
      rc = sidecal_retry(res, 0, "cancelled");
      break;
    }
    size_t n = MIN((guint)MULTIGET_BATCH, todo->len - i);
    rc = fetch_batch(r, map, (const char *const *)todo->pdata + i, n, res);
  }
  g_ptr_array_unref(todo);
  return rc;
}

static int parse_cursor(const char *cursor, uint64_t *id, const char **token) {
  unsigned long long v;
  int used = 0;
  if (strncmp(cursor, "cd1:", 4) || sscanf(cursor + 4, "%16llx%n", &v, &used) != 1 ||
      used != 16 || cursor[4 + 16] != ':')
    return -1;
  *id = v;
  *token = cursor + 4 + 16 + 1;
  return 0;
}

static int32_t incremental(struct run *r, const char *cursor, struct sidecal_result *res) {
  uint64_t id;
  const char *token;
  if (parse_cursor(cursor, &id, &token))
    return sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                              "the cursor is not one this connector wrote; full sync needed");
  GHashTable *map = cd_cache_take(&r->cd->cache, id);
  struct changes ch;
  changes_init(&ch, token);
  int32_t rc = SIDECAL_OK;
  if (!*token) {
    rc = map ? etag_listing(r, map, &ch, res)
             : sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                                  "no ETags held for this cursor; full sync needed");
  } else {
    int truncated = 1;
    for (int round = 0; truncated && rc == SIDECAL_OK; round++) {
      if (round == MAX_TRUNCATED_ROUNDS) {
        rc = sidecal_retry(res, 0, "the server keeps truncating sync-collection; trying later");
        break;
      }
      rc = sync_round(r, &ch, &truncated, res);
    }
  }
  int any = ch.changed->len || ch.deleted->len;
  if (rc == SIDECAL_OK && !map && any)
    rc = sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                            "the connector restarted and no longer knows which occurrences "
                            "it reported; full sync needed");
  if (rc == SIDECAL_OK && map) rc = apply_changes(r, map, &ch, res);
  if (rc == SIDECAL_OK && !r->stopped) {
    /* Only a completely applied map goes back: a partial one would hide the
    ** unapplied changes behind ETags we never reported. */
    if (map) cd_cache_put(&r->cd->cache, id, map);
    map = NULL;
    emit_cursor(r, id, ch.token);
  }
  if (map) g_hash_table_unref(map);
  if (rc == SIDECAL_OK && any)
    cd_host->log(r->ctx->host_instance, SIDECAL_LOG_DEBUG,
                 "request=%s incremental: %u changed, %u deleted members", r->ctx->request_id,
                 ch.changed->len, ch.deleted->len);
  changes_clear(&ch);
  return rc;
}

/* ---- entry points ----------------------------------------------------- */

int32_t cd_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                       const struct sidecal_window *window, const char *cursor,
                       const struct sidecal_sink *sink, struct sidecal_result *res) {
  struct run r;
  if (begin(&r, instance, ctx, window, sink, res) != SIDECAL_OK) return res->code;
  int32_t rc = cursor ? incremental(&r, cursor, res) : full_sync(&r, res);
  if (rc == SIDECAL_OK) cd_host->counter_add(ctx->host_instance, "events_reported", r.reported);
  g_free(r.cal);
  return rc;
}

int32_t cd_free_busy(void *instance, const struct sidecal_call_ctx *ctx,
                     const struct sidecal_window *window, const struct sidecal_sink *sink,
                     struct sidecal_result *res) {
  struct run r;
  if (begin(&r, instance, ctx, window, sink, res) != SIDECAL_OK) return res->code;
  struct cd_multistatus ms = {0};
  int32_t rc = query_window(&r, &ms, res);
  for (size_t i = 0; rc == SIDECAL_OK && i < ms.n && !r.stopped; i++) {
    struct cd_occs occs = {0};
    char why[128];
    if (!ms.r[i].calendar_data || cd_ics_expand(ms.r[i].href, ms.r[i].calendar_data,
                                                r.w.start_utc, r.w.end_utc, CD_MAX_OCCURRENCES,
                                                &occs, why, sizeof why))
      continue;
    for (size_t j = 0; j < occs.n && !r.stopped; j++) {
      const struct cd_occ *o = &occs.v[j];
      if (o->transparent || o->status == SIDECAL_EVENT_CANCELLED) continue;
      if (sink->busy(sink, o->start, o->end)) r.stopped = 1;
    }
    cd_occs_clear(&occs);
  }
  cd_multistatus_free(&ms);
  g_free(r.cal);
  return rc;
}
