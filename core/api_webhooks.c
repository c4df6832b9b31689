/*
** HTTP side of webhook intake (see api_webhooks.h): collect the request as
** received and answer what the inbox decided.
*/
#include "api_webhooks.h"

#include <ctype.h>
#include <glib.h>
#include <microhttpd.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "sync_engine.h"
#include "sync_inbox.h"

struct collected {
  GPtrArray *strings;   /* owned copies */
  GArray *headers;      /* struct sidecal_http_header */
  GString *query;
};

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
  (void)kind;
  struct collected *c = cls;
  char *name = g_ascii_strdown(key, -1);
  char *val = g_strdup(value ? value : "");
  g_ptr_array_add(c->strings, name);
  g_ptr_array_add(c->strings, val);
  struct sidecal_http_header h = {name, val};
  g_array_append_val(c->headers, h);
  return MHD_YES;
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value) {
  (void)kind;
  struct collected *c = cls;
  if (c->query->len) g_string_append_c(c->query, '&');
  char *k = g_uri_escape_string(key, NULL, FALSE);
  g_string_append(c->query, k);
  g_free(k);
  if (value) {
    char *v = g_uri_escape_string(value, NULL, FALSE);
    g_string_append_printf(c->query, "=%s", v);
    g_free(v);
  }
  return MHD_YES;
}

static void receive(struct sc_http_req *req, struct sc_http_resp *resp, const char *plugin,
                    const char *instance) {
  struct sc_app *app = req->app;
  if (!app->registry) {
    sc_http_error(resp, 503, "connectors_unavailable", NULL,
                  "connectors are not loaded in this daemon; retry later");
    return;
  }
  struct collected c = {g_ptr_array_new_with_free_func(g_free),
                        g_array_new(FALSE, FALSE, sizeof(struct sidecal_http_header)),
                        g_string_new(NULL)};
  MHD_get_connection_values(req->conn, MHD_HEADER_KIND, on_header, &c);
  MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, on_arg, &c);
  struct sc_webhook_in in = {.plugin = plugin, .instance = instance,
                             .headers = (const struct sidecal_http_header *)(void *)c.headers->data,
                             .n_headers = c.headers->len, .body = req->body,
                             .body_len = req->body_len, .query = c.query->len ? c.query->str : NULL};
  struct sc_webhook_out out;
  struct sc_sync_engine *engine = __atomic_load_n(&app->sync, __ATOMIC_ACQUIRE);
  sc_inbox_receive(app->pool, app->registry, engine ? sc_sync_engine_ingest(engine) : NULL, &in,
                   &out);
  if (out.status == 200) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(
        out.stored ? "accepted" : out.duplicate ? "duplicate" : "dropped"));
    sc_http_json(resp, 200, o);
    if (out.stored) sc_sync_engine_wake_inbox(engine);
  } else {
    const char *code = out.status == 400   ? "malformed_webhook"
                       : out.status == 401 ? "unauthorized"
                       : out.status == 404 ? "not_found"
                                           : "unavailable";
    sc_http_error(resp, out.status, code, NULL, "%s", out.message);
    if (out.status == 429 || out.status == 503)
      resp->extra_headers[resp->n_extra++] = strdup("Retry-After: 5");
  }
  g_array_free(c.headers, TRUE);
  g_ptr_array_free(c.strings, TRUE);
  g_string_free(c.query, TRUE);
}

void sc_api_webhook_instance(struct sc_http_req *req, struct sc_http_resp *resp) {
  receive(req, resp, req->params[0], req->params[1]);
}

void sc_api_webhook_app(struct sc_http_req *req, struct sc_http_resp *resp) {
  receive(req, resp, req->params[0], NULL);
}
