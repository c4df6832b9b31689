/*
** GET /metrics handler.
*/
#include "api_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "metrics.h"
#include "sync_metrics.h"

void sc_api_metrics(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_caller caller;
  if (sc_auth_request(app->auth, req, resp, &caller)) return;
  if (caller.role != SC_ROLE_PLATFORM_ADMIN) {
    sc_http_error(resp, 404, "not_found", NULL,
                  "no such route for this key: GET /metrics needs a platform-admin key");
    return;
  }
  char *text;
  size_t len;
  if (sc_metrics_render(app->pool, &text, &len)) {
    struct sc_error err;
    sc_error_set(&err, SC_ENOMEM, NULL, "cannot render metrics: out of memory");
    sc_http_from_error(resp, &err);
    return;
  }
  char *sync = sc_sync_metrics_text(app->pool);
  char *all = malloc(len + strlen(sync) + 1);
  if (all) {
    memcpy(all, text, len);
    memcpy(all + len, sync, strlen(sync) + 1);
    free(text);
    text = all;
  }
  free(sync);
  free(resp->body);
  resp->status = 200;
  resp->body = text;
  resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
