/*
** ghl: the GoHighLevel (LeadConnector API v2) calendar connector.
**
** This file holds the descriptor, the settings map, instance create and
** destroy (with every settings check), and the entry point. Reading and
** writing appointments live in ghl_events.c, HTTP/OAuth/rate budget in
** ghl_api.c and ghl_rate.c, webhooks in ghl_webhook.c, the status table in
** ghl_status.c. README.md describes behaviour and the status table.
*/
#include "ghl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct sidecal_host_api *ghl_host;

static const struct sidecal_setting_def settings[] = {
  {"location_id", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL,
   "The GHL sub-account (location) id. Webhooks are routed to this instance by it."},
  {"calendar_ids", SIDECAL_SETTING_STRING_LIST, SIDECAL_SETTING_REQUIRED, NULL,
   "GHL calendar ids to sync. Appointments sidecal creates go to the first one."},
  {"staff_users", SIDECAL_SETTING_MAP, 0, "{}",
   "sidecal staff slug -> GHL user id (assignedUserId)."},
  {"base_url", SIDECAL_SETTING_STRING, 0, "\"" GHL_DEFAULT_BASE_URL "\"",
   "API base URL; change only for a test server."},
  {"client_id", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "OAuth client id of the marketplace app."},
  {"client_secret", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "OAuth client secret of the marketplace app."},
  {"refresh_token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "The location's OAuth refresh token; each refresh rotates it and sidecal keeps the new one."},
  {"access_token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "A Private Integration Token, instead of OAuth."},
  {"webhook_public_key", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "GHL's webhook RSA public key (PEM) that signs x-wh-signature."},
  {"rate_limit_requests", SIDECAL_SETTING_INT, 0, "100",
   "At most this many API requests per rate_limit_window_ms (GHL: 100 per 10 s per location)."},
  {"rate_limit_window_ms", SIDECAL_SETTING_INT, 0, "10000",
   "The rate budget's window in milliseconds."},
};

static int configured(const struct sidecal_call_ctx *ctx, const char *key) {
  char buf[8];
  return ghl_host->secret_read(ctx->host_instance, key, buf, sizeof buf) != -1;
}

/* Which credentials are set: OAuth (all three) and/or a static token. */
static int32_t check_credentials(struct ghl *g, const struct sidecal_call_ctx *ctx,
                                 struct sidecal_result *res) {
  static const char *const oauth[] = {"client_id", "client_secret", "refresh_token"};
  char missing[80] = "";
  int n = 0;
  for (int i = 0; i < 3; i++) {
    if (configured(ctx, oauth[i])) {
      n++;
    } else {
      size_t len = strlen(missing);
      snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", oauth[i]);
    }
  }
  g->has_oauth = n == 3;
  g->has_static_token = configured(ctx, "access_token");
  char msg[200];
  if (n > 0 && n < 3) {
    snprintf(msg, sizeof msg, "OAuth needs client_id, client_secret and refresh_token together; missing: %s",
             missing);
    return sidecal_error(res, msg);
  }
  if (!g->has_oauth && !g->has_static_token)
    return sidecal_error(res, "no credentials: configure client_id, client_secret and refresh_token "
                              "(OAuth) or access_token (Private Integration Token)");
  return sidecal_ok(res);
}

static int32_t check_settings(struct ghl *g, const struct sidecal_settings *s,
                              int64_t *max, int64_t *window, struct sidecal_result *res) {
  g->location_id = ghl_host->setting_string(s, "location_id");
  g->base_url = ghl_host->setting_string(s, "base_url");
  g->n_calendars = ghl_host->setting_list_len(s, "calendar_ids");
  if (!g->location_id || !*g->location_id) return sidecal_error(res, "location_id must not be empty");
  if (!g->n_calendars) return sidecal_error(res, "calendar_ids must name at least one GHL calendar id");
  for (uint32_t i = 0; i < g->n_calendars; i++) {
    const char *c = ghl_host->setting_list_item(s, "calendar_ids", i);
    if (!c || !*c) return sidecal_error(res, "calendar_ids must not contain an empty id");
  }
  if (!g->base_url || (strncmp(g->base_url, "https://", 8) && strncmp(g->base_url, "http://", 7)))
    return sidecal_error(res, "base_url must start with https:// (or http:// for a test server)");
  size_t len = strlen(g->base_url);
  if (len > 1024 || g->base_url[len - 1] == '/')
    return sidecal_error(res, "base_url must not end with a slash");
  if (ghl_host->setting_int(s, "rate_limit_requests", max) || *max < 1 || *max > 100000)
    return sidecal_error(res, "rate_limit_requests must be between 1 and 100000");
  if (ghl_host->setting_int(s, "rate_limit_window_ms", window) || *window < 1 || *window > 86400000)
    return sidecal_error(res, "rate_limit_window_ms must be between 1 and 86400000");
  return sidecal_ok(res);
}

static int32_t ghl_create(const struct sidecal_call_ctx *ctx, const struct sidecal_settings *s,
                          void **instance, struct sidecal_result *res) {
  struct ghl *g = calloc(1, sizeof *g);
  if (!g) return sidecal_retry(res, 0, "out of memory");
  g->settings = s;
  int64_t max = 0, window = 0;
  if (check_settings(g, s, &max, &window, res) != SIDECAL_OK ||
      check_credentials(g, ctx, res) != SIDECAL_OK) {
    free(g);
    return res->code;
  }
  if (ghl_rate_init(&g->rate, (uint32_t)max, window)) {
    free(g);
    return sidecal_retry(res, 0, "out of memory");
  }
  pthread_mutex_init(&g->lock, NULL);
  ghl_host->log(ctx->host_instance, SIDECAL_LOG_INFO,
                "GHL location %s, %u calendar(s), budget %lld requests / %lld ms, auth %s",
                g->location_id, g->n_calendars, (long long)max, (long long)window,
                g->has_oauth ? "OAuth" : "private integration token");
  *instance = g;
  return sidecal_ok(res);
}

static void ghl_destroy(void *instance) {
  struct ghl *g = instance;
  if (!g) return;
  explicit_bzero(g->access_token, sizeof g->access_token);
  explicit_bzero(g->pending_refresh, sizeof g->pending_refresh);
  ghl_rate_free(&g->rate);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

static int32_t ghl_refresh_credentials(void *instance, const struct sidecal_call_ctx *ctx,
                                       struct sidecal_result *res) {
  return ghl_refresh(instance, ctx, res);
}

static const struct sidecal_connector descriptor = {
  SIDECAL_CONNECTOR_STAMP,
  .name = "ghl",
  .version = "1.0.0",
  .description = "GoHighLevel (LeadConnector v2) calendars: appointments, webhooks, OAuth",
  .capabilities = SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | SIDECAL_CAP_WEBHOOKS |
                  SIDECAL_CAP_CREDENTIAL_REFRESH | SIDECAL_CAP_WEBHOOK_RETRY_429,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .instance_create = ghl_create,
  .instance_destroy = ghl_destroy,
  .list_events = ghl_list_events,
  .create_event = ghl_create_event,
  .update_event = ghl_update_event,
  .delete_event = ghl_delete_event,
  .webhook_route = ghl_webhook_route,
  .instance_key = ghl_instance_key,
  .webhook_verify = ghl_webhook_verify,
  .webhook_parse = ghl_webhook_parse,
  .refresh_credentials = ghl_refresh_credentials,
  .webhook_dedupe_key = ghl_webhook_dedupe,
};

const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  ghl_host = h;
  return &descriptor;
}
