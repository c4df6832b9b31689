/*
** Platform-admin plugin routes: reload, the served generation, and a
** list_events probe into one instance (see api_admin.h).
*/
#include "api_admin.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "plugin_runtime.h"
#include "registry.h"

/* 404 for everyone but a platform admin; returns nonzero when resp is filled. */
static int require_admin(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_caller caller;
  if (sc_auth_request(app->auth, req, resp, &caller)) return 1;
  if (caller.role == SC_ROLE_PLATFORM_ADMIN) return 0;
  sc_http_error(resp, 404, "not_found", NULL,
                "no such route for this key: %s %s needs a platform-admin key",
                req->method, req->route);
  return 1;
}

void sc_api_admin_reload(struct sc_http_req *req, struct sc_http_resp *resp) {
  if (require_admin(req, resp)) return;
  json_object *report = NULL;
  struct sc_error err;
  if (sc_plugin_runtime_reload(req->app, 0, "http", &report, &err))
    return sc_http_from_error(resp, &err);
  sc_http_json(resp, 200, report);
}

void sc_api_admin_plugins(struct sc_http_req *req, struct sc_http_resp *resp) {
  if (require_admin(req, resp)) return;
  json_object *o = sc_plugin_runtime_describe(req->app);
  if (!o) {
    sc_http_error(resp, 409, "conflict", NULL, "connector plugins are not started");
    return;
  }
  sc_http_json(resp, 200, o);
}

/* ---- list_events probe ---------------------------------------------- */

#define PROBE_MAX_EVENTS 1000

struct probe {
  json_object *events;
  char *cursor;
};

static json_object *iso(int64_t t) {
  GDateTime *dt = g_date_time_new_from_unix_utc(t);
  if (!dt) return NULL;
  gchar *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
  json_object *o = json_object_new_string(s);
  g_free(s);
  g_date_time_unref(dt);
  return o;
}

static int32_t probe_event(const struct sidecal_sink *sink, const struct sidecal_event *ev) {
  struct probe *p = sink->host_data;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "external_id", json_object_new_string(ev->external_id ? ev->external_id : ""));
  json_object_object_add(o, "title", ev->title ? json_object_new_string(ev->title) : NULL);
  json_object_object_add(o, "start", iso(ev->start_utc));
  json_object_object_add(o, "end", iso(ev->end_utc));
  json_object_array_add(p->events, o);
  return json_object_array_length(p->events) >= PROBE_MAX_EVENTS;
}

static int32_t probe_deleted(const struct sidecal_sink *sink, const char *id) {
  (void)sink;
  (void)id;
  return 0;
}

static void probe_cursor(const struct sidecal_sink *sink, const char *cursor) {
  struct probe *p = sink->host_data;
  g_free(p->cursor);
  p->cursor = g_strdup(cursor);
}

static int32_t probe_busy(const struct sidecal_sink *sink, int64_t s, int64_t e) {
  (void)sink;
  (void)s;
  (void)e;
  return 0;
}

/* "2027-01-04" (00:00 UTC) or an ISO 8601 instant; a zone-less one is UTC. */
static int parse_when(const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  GTimeZone *utc = g_time_zone_new_utc();
  gchar *full = strlen(s) == 10 ? g_strconcat(s, "T00:00:00Z", NULL) : g_strdup(s);
  GDateTime *dt = g_date_time_new_from_iso8601(full, utc);
  g_free(full);
  g_time_zone_unref(utc);
  if (!dt) return -1;
  *out = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return 0;
}

static int probe_window(struct sc_http_req *req, struct sc_http_resp *resp,
                        struct sidecal_window *w) {
  const char *names[2] = {"from", "to"};
  int64_t *slots[2] = {&w->start_utc, &w->end_utc};
  for (int i = 0; i < 2; i++)
    if (parse_when(sc_http_query(req, names[i]), slots[i])) {
      sc_http_error(resp, 422, "validation_failed", names[i],
                    "%s must be a date (YYYY-MM-DD) or an ISO 8601 instant", names[i]);
      return -1;
    }
  if (w->end_utc <= w->start_utc) {
    sc_http_error(resp, 422, "validation_failed", "to", "to must be after from");
    return -1;
  }
  return 0;
}

/* What both admin calls answer: which instance, which generation, and the
** connector's result. */
static json_object *call_answer(const struct sc_generation *g, const struct sc_plugin_instance *in,
                                const struct sidecal_result *res) {
  json_object *o = json_object_new_object(), *r = json_object_new_object();
  json_object_object_add(o, "instance", json_object_new_string(in->name));
  json_object_object_add(o, "generation", json_object_new_int64((int64_t)g->number));
  json_object_object_add(r, "code", json_object_new_int(res->code));
  json_object_object_add(r, "message", json_object_new_string(res->message));
  json_object_object_add(o, "result", r);
  return o;
}

/* The running generation, or NULL with 409 answered. */
static struct sc_generation *plugins_started(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_generation *g = sc_plugin_runtime_acquire(req->app);
  if (!g) sc_http_error(resp, 409, "conflict", NULL, "connector plugins are not started");
  return g;
}

/* The running instance named in the path, or NULL with 404/409 answered. */
static struct sc_plugin_instance *running_instance(struct sc_http_req *req, struct sc_http_resp *resp,
                                                   struct sc_generation *g) {
  const char *name = req->params[0];
  const struct sc_gen_instance *e = sc_generation_instance_entry(g, name);
  if (!e)
    sc_http_error(resp, 404, "not_found", NULL, "no connector instance named \"%s\"", name);
  else if (!e->inst)
    sc_http_error(resp, 409, "instance_failed", NULL, "%s", e->error ? e->error : "instance failed");
  return e ? e->inst : NULL;
}

static void run_probe(struct sc_http_resp *resp, const struct sc_generation *g,
                      struct sc_plugin_instance *in, const struct sidecal_window *w) {
  struct probe p = {.events = json_object_new_array()};
  struct sidecal_sink sink = {.struct_size = sizeof sink, .host_data = &p, .event = probe_event,
                              .deleted = probe_deleted, .cursor = probe_cursor,
                              .busy = probe_busy};
  struct sc_plugin_call call;
  sc_plugin_call_init(in, &call, "admin-probe", sc_plugin_monotonic_ms() + 30000);
  in->plugin->desc.list_events(in->state, &call.ctx, w, NULL, &sink, &call.res);
  call.res.message[sizeof call.res.message - 1] = '\0';
  sc_plugin_instance_record(in, &call.res);
  json_object *o = call_answer(g, in, &call.res);
  json_object_object_add(o, "plugin", json_object_new_string(in->plugin->name));
  json_object_object_add(o, "plugin_version", json_object_new_string(in->plugin->desc.version));
  json_object_object_add(o, "events", p.events);
  json_object_object_add(o, "cursor", p.cursor ? json_object_new_string(p.cursor) : NULL);
  g_free(p.cursor);
  sc_http_json(resp, 200, o);
}

void sc_api_admin_instance_events(struct sc_http_req *req, struct sc_http_resp *resp) {
  if (require_admin(req, resp)) return;
  struct sidecal_window w;
  if (probe_window(req, resp, &w)) return;
  struct sc_generation *g = plugins_started(req, resp);
  if (!g) return;
  struct sc_plugin_instance *in = running_instance(req, resp, g);
  if (in && !in->plugin->desc.list_events)
    sc_http_error(resp, 422, "validation_failed", NULL,
                  "connector \"%s\" does not read events", in->plugin->name);
  else if (in)
    run_probe(resp, g, in, &w);
  sc_plugin_runtime_release(g);
}

/* ---- credential refresh --------------------------------------------- */

static void run_refresh(struct sc_http_resp *resp, const struct sc_generation *g,
                        struct sc_plugin_instance *in) {
  struct sc_plugin_call call;
  sc_plugin_call_init(in, &call, "admin-refresh", sc_plugin_monotonic_ms() + 30000);
  in->plugin->desc.refresh_credentials(in->state, &call.ctx, &call.res);
  call.res.message[sizeof call.res.message - 1] = '\0';
  sc_plugin_instance_record(in, &call.res);
  sc_http_json(resp, 200, call_answer(g, in, &call.res));
}

void sc_api_admin_instance_refresh(struct sc_http_req *req, struct sc_http_resp *resp) {
  if (require_admin(req, resp)) return;
  struct sc_generation *g = plugins_started(req, resp);
  if (!g) return;
  struct sc_plugin_instance *in = running_instance(req, resp, g);
  if (in && !in->plugin->desc.refresh_credentials)
    sc_http_error(resp, 422, "validation_failed", NULL,
                  "connector \"%s\" does not refresh credentials", in->plugin->name);
  else if (in)
    run_refresh(resp, g, in);
  sc_plugin_runtime_release(g);
}
