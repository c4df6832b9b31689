/*
** Test connector for the plugin host and registry tests. One source, built
** as several modules: a working connector in two behaviours (v1, v2: titles
** differ) and deliberately broken variants selected by a BROKEN_* define,
** each violating exactly one rule of the ABI.
*/
#include <sidecal/connector.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_NAME
#error FIXTURE_NAME must be defined
#endif
#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

static const struct sidecal_host_api *host;

struct fixture {
  const struct sidecal_settings *settings;
  struct sidecal_host_instance *hi;
  char label[64];
  int64_t count;
};

static const struct sidecal_setting_def settings[] = {
  {"label", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL,
   "Text put in every event title."},
  {"count", SIDECAL_SETTING_INT, 0, "1", "How many events list_events reports."},
  {"enabled", SIDECAL_SETTING_BOOL, 0, "true", "Ignored; exercises bool."},
  {"tags", SIDECAL_SETTING_STRING_LIST, 0, "[]", "Ignored; exercises string_list."},
  {"headers", SIDECAL_SETTING_MAP, 0, "{}", "Ignored; exercises map."},
  {"token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "API token; refresh_credentials rotates it."},
  {"fail_create", SIDECAL_SETTING_BOOL, 0, "false", "Make instance_create fail."},
};

static int32_t create(const struct sidecal_call_ctx *ctx, const struct sidecal_settings *s,
                      void **instance, struct sidecal_result *res) {
  int32_t fail = 0;
  host->setting_bool(s, "fail_create", &fail);
  if (fail) return sidecal_error(res, "fail_create is set");
  struct fixture *f = calloc(1, sizeof *f);
  if (!f) return sidecal_retry(res, 0, "out of memory");
  f->settings = s;
  f->hi = ctx->host_instance;
  snprintf(f->label, sizeof f->label, "%s", host->setting_string(s, "label"));
  if (host->setting_int(s, "count", &f->count) != 0) f->count = -1;
  *instance = f;
  return sidecal_ok(res);
}

static void destroy(void *instance) { free(instance); }

__attribute__((unused)) static int32_t list_events(void *instance, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_window *window, const char *cursor,
                           const struct sidecal_sink *sink, struct sidecal_result *res) {
  struct fixture *f = instance;
  host->counter_add(ctx->host_instance, "list_calls", 1);
  if (cursor && !strcmp(cursor, "expired"))
    return sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0, "cursor expired");
  char title[128], id[32];
  snprintf(title, sizeof title, "%s v%d", f->label, FIXTURE_VERSION);
  for (int64_t i = 0; i < f->count; i++) {
    snprintf(id, sizeof id, "ev-%lld", (long long)i);
    struct sidecal_event ev = {
      .struct_size = sizeof ev, .status = SIDECAL_EVENT_CONFIRMED, .external_id = id,
      .start_utc = window->start_utc + 3600 * i, .end_utc = window->start_utc + 3600 * i + 1800,
      .title = title,
    };
    if (sink->event(sink, &ev)) break;
  }
  sink->cursor(sink, "c" STR(FIXTURE_VERSION));
  return sidecal_ok(res);
}

static int32_t refresh(void *instance, const struct sidecal_call_ctx *ctx,
                       struct sidecal_result *res) {
  (void)instance;
  char tok[256], next[300];
  if (host->secret_read(ctx->host_instance, "token", tok, sizeof tok) < 0)
    return sidecal_error(res, "token is not readable");
  snprintf(next, sizeof next, "%s+1", tok);
  if (host->secret_store_rotated(ctx->host_instance, "token", next))
    return sidecal_retry(res, 1000, "could not store the rotated token");
  return sidecal_ok(res);
}

/* The stamp, overridable per broken variant from meson. */
#ifndef FIX_MAGIC
#define FIX_MAGIC SIDECAL_CONNECTOR_MAGIC
#endif
#ifndef FIX_MAJOR
#define FIX_MAJOR SIDECAL_ABI_MAJOR
#endif
#ifndef FIX_MINOR
#define FIX_MINOR SIDECAL_ABI_MINOR
#endif
#ifdef BROKEN_OVERSIZED
#define FIX_EXTRA 64 /* pretends to come from a newer minor with more fields */
#else
#define FIX_EXTRA 1
#endif

static const struct {
  struct sidecal_connector c;
  char future_fields[FIX_EXTRA];
} descriptor = {{
  .magic = FIX_MAGIC,
  .abi_major = FIX_MAJOR,
  .abi_minor = FIX_MINOR,
#ifdef BROKEN_OVERSIZED
  .struct_size = (uint32_t)sizeof(struct sidecal_connector) + FIX_EXTRA,
#else
  .struct_size = (uint32_t)sizeof(struct sidecal_connector),
#endif
  .name = FIXTURE_NAME,
  .version = "0." STR(FIXTURE_VERSION) ".0",
  .description = "Test connector (fixture)",
  .capabilities = SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_CREDENTIAL_REFRESH,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .setting_def_size = sizeof(struct sidecal_setting_def),
  .instance_create = create,
  .instance_destroy = destroy,
#ifndef BROKEN_MISSING_CALLBACK
  .list_events = list_events,
#endif
  .refresh_credentials = refresh,
}, {0}};

#ifdef BROKEN_NO_ENTRY
/* Exports something, but not the entry point. */
SIDECAL_EXPORT const struct sidecal_connector *sidecal_connector_entry_v0(
    const struct sidecal_host_api *h);
SIDECAL_EXPORT const struct sidecal_connector *sidecal_connector_entry_v0(
    const struct sidecal_host_api *h) {
  host = h;
  return &descriptor.c;
}
#else
const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  host = h;
  return &descriptor.c;
}
#endif
