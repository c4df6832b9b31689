/*
** calcom: the Cal.com (API v2) connector's descriptor, settings map and
** instance lifecycle. Bookings are read and written in calcom_ops.c,
** webhooks are checked and parsed in calcom_webhook.c.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "calcom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct sidecal_host_api *cc_host;

static const struct sidecal_setting_def settings[] = {
  {"base_url", SIDECAL_SETTING_STRING, 0, "\"https://api.cal.com/v2\"",
   "Cal.com API v2 base URL (self-hosted instances: https://<host>/api/v2)."},
  {"api_key", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "Cal.com API key (cal_live_...). Use this or the OAuth settings."},
  {"oauth_client_id", SIDECAL_SETTING_STRING, 0, NULL,
   "Platform OAuth client id; with oauth_client_secret and refresh_token "
   "instead of api_key. Access tokens are refreshed and rotated."},
  {"oauth_client_secret", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "Platform OAuth client secret (sent as x-cal-secret-key on refresh)."},
  {"access_token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "Initial OAuth access token (optional: one is obtained by refreshing)."},
  {"refresh_token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "OAuth refresh token; rotated tokens are kept by the host."},
  {"bookings_api_version", SIDECAL_SETTING_STRING, 0, "\"2024-08-13\"",
   "cal-api-version sent to GET /bookings, GET /bookings/{uid}, reschedule "
   "and cancel."},
  {"create_api_version", SIDECAL_SETTING_STRING, 0, "\"2024-08-13\"",
   "cal-api-version sent to POST /bookings (Cal.com's docs now show "
   "2026-02-25 here; its body differences are unverified)."},
  {"default_event_type_id", SIDECAL_SETTING_INT, 0, NULL,
   "Cal.com event type id used for appointments whose type is not in "
   "event_types (the design's location.calcomEventTypeId)."},
  {"event_types", SIDECAL_SETTING_MAP, 0, "{}",
   "Our event type slug -> Cal.com event type id. Listing only reads "
   "bookings of these types (and the default)."},
  {"webhook_secret", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL,
   "Secret of the Cal.com webhook; deliveries must carry its "
   "X-Cal-Signature-256."},
  {"accept_unsigned_webhooks", SIDECAL_SETTING_BOOL, 0, "false",
   "Accept deliveries without a signature when no webhook_secret is set "
   "(development only)."},
  {"organization_metadata_key", SIDECAL_SETTING_STRING, 0, "\"organizationId\"",
   "Booking metadata key naming the organization."},
  {"location_metadata_key", SIDECAL_SETTING_STRING, 0, "\"locationId\"",
   "Booking metadata key naming the location."},
  {"organization_id", SIDECAL_SETTING_STRING, 0, NULL,
   "Value the organization key must hold (default: this organization's slug)."},
  {"location_id", SIDECAL_SETTING_STRING, 0, NULL,
   "Value the location key must hold (default: this location's slug; not "
   "checked for staff instances)."},
  {"require_tenant_metadata", SIDECAL_SETTING_BOOL, 0, "true",
   "Refuse bookings whose metadata does not name the tenant at all "
   "(bookings naming another tenant are always refused)."},
  {"page_size", SIDECAL_SETTING_INT, 0, "100",
   "Bookings per page when listing (Cal.com's take, 1..250)."},
  {"timeout_ms", SIDECAL_SETTING_INT, 0, "15000",
   "Timeout of one HTTP request in milliseconds."},
};

int32_t cc_fail(struct sidecal_result *res, int32_t code, uint32_t retry_ms,
                const char *fmt, ...) {
  char msg[SIDECAL_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sidecal_result_set(res, code, retry_ms, msg);
}

static void cc_free(struct cc *c) {
  if (!c) return;
  free(c->base_url);
  for (size_t i = 0; i < c->n_types; i++) free(c->types[i].slug);
  free(c->types);
  free(c->type_ids_csv);
  free(c->org_expect);
  free(c->loc_expect);
  free(c);
}

/* A secret is configured when the host knows a reference (or a rotated
** value) for it; reading it may still fail later. */
static int has_secret(const struct sidecal_call_ctx *ctx, const char *key) {
  char buf[8];
  return cc_host->secret_read(ctx->host_instance, key, buf, sizeof buf) != -1;
}

static int parse_type_id(const char *s, int64_t *out) {
  char *end = NULL;
  long long v = s && *s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || *end || v <= 0) return -1;
  *out = v;
  return 0;
}

static int32_t load_types(struct cc *c, const struct sidecal_settings *s,
                          struct sidecal_result *res) {
  uint32_t n = cc_host->setting_map_len(s, "event_types");
  c->types = calloc(n + 1, sizeof *c->types);
  size_t csv_size = 32 + (size_t)n * 24;
  c->type_ids_csv = calloc(1, csv_size);
  if (!c->types || !c->type_ids_csv) return sidecal_error(res, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    const char *slug = cc_host->setting_map_key(s, "event_types", i);
    const char *val = cc_host->setting_map_value(s, "event_types", slug);
    int64_t id;
    if (parse_type_id(val, &id))
      return cc_fail(res, SIDECAL_ERROR, 0,
                     "event_types.%s: \"%s\" is not a Cal.com event type id (a positive integer)",
                     slug, val ? val : "");
    for (size_t k = 0; k < c->n_types; k++)
      if (c->types[k].id == id)
        return cc_fail(res, SIDECAL_ERROR, 0,
                       "event_types.%s: Cal.com event type %lld is already mapped to \"%s\"",
                       slug, (long long)id, c->types[k].slug);
    c->types[c->n_types].slug = strdup(slug);
    c->types[c->n_types++].id = id;
  }
  size_t len = 0;
  for (size_t k = 0; k < c->n_types; k++)
    len += (size_t)snprintf(c->type_ids_csv + len, csv_size - len, "%s%lld", len ? "," : "",
                            (long long)c->types[k].id);
  if (c->default_type && !cc_slug_for(c, c->default_type))
    snprintf(c->type_ids_csv + len, csv_size - len, "%s%lld", len ? "," : "",
             (long long)c->default_type);
  if (!*c->type_ids_csv) {
    free(c->type_ids_csv);
    c->type_ids_csv = NULL;
  }
  return SIDECAL_OK;
}

static int32_t load_auth(struct cc *c, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_settings *s, struct sidecal_result *res) {
  c->client_id = cc_host->setting_string(s, "oauth_client_id");
  int key = has_secret(ctx, "api_key");
  if (key && c->client_id)
    return sidecal_error(res, "api_key and oauth_client_id are exclusive: configure one of them");
  if (key) return SIDECAL_OK;
  if (!c->client_id || !has_secret(ctx, "oauth_client_secret") || !has_secret(ctx, "refresh_token"))
    return sidecal_error(res, "no credentials: set api_key, or oauth_client_id with "
                              "oauth_client_secret and refresh_token");
  c->oauth = 1;
  return SIDECAL_OK;
}

static int32_t load_tenant(struct cc *c, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_settings *s, struct sidecal_result *res) {
  c->org_key = cc_host->setting_string(s, "organization_metadata_key");
  c->loc_key = cc_host->setting_string(s, "location_metadata_key");
  const char *org = cc_host->setting_string(s, "organization_id");
  const char *loc = cc_host->setting_string(s, "location_id");
  if (!org) org = ctx->organization;
  if (!loc) loc = ctx->location;
  if (!org || !*org) return sidecal_error(res, "the instance has no organization to check bookings against");
  c->org_expect = strdup(org);
  c->loc_expect = loc ? strdup(loc) : NULL;
  int32_t b = 1;
  cc_host->setting_bool(s, "require_tenant_metadata", &b);
  c->require_tenant = b;
  b = 0;
  cc_host->setting_bool(s, "accept_unsigned_webhooks", &b);
  c->accept_unsigned = b;
  return SIDECAL_OK;
}

static int32_t load_numbers(struct cc *c, const struct sidecal_settings *s,
                            struct sidecal_result *res) {
  int64_t v = 0;
  if (cc_host->setting_int(s, "default_event_type_id", &v) == 0) {
    if (v <= 0)
      return cc_fail(res, SIDECAL_ERROR, 0,
                     "default_event_type_id must be a positive Cal.com event type id, not %lld",
                     (long long)v);
    c->default_type = v;
  }
  cc_host->setting_int(s, "page_size", &c->page_size);
  if (c->page_size < 1 || c->page_size > 250)
    return cc_fail(res, SIDECAL_ERROR, 0,
                   "page_size must be between 1 and 250 (Cal.com's take limit), not %lld",
                   (long long)c->page_size);
  v = 15000;
  cc_host->setting_int(s, "timeout_ms", &v);
  if (v < 100 || v > 600000)
    return cc_fail(res, SIDECAL_ERROR, 0, "timeout_ms must be between 100 and 600000, not %lld",
                   (long long)v);
  c->timeout_ms = (uint32_t)v;
  return SIDECAL_OK;
}

static int32_t calcom_create(const struct sidecal_call_ctx *ctx,
                             const struct sidecal_settings *s, void **instance,
                             struct sidecal_result *res) {
  struct cc *c = calloc(1, sizeof *c);
  if (!c) return sidecal_error(res, "out of memory");
  const char *base = cc_host->setting_string(s, "base_url");
  if (!base) base = ""; /* defaulted by the host; never absent */
  int32_t rc = SIDECAL_OK;
  if (strncmp(base, "https://", 8) && strncmp(base, "http://", 7))
    rc = cc_fail(res, SIDECAL_ERROR, 0, "base_url must start with https:// or http://, not \"%s\"",
                 base);
  if (rc == SIDECAL_OK) {
    c->base_url = strdup(base);
    size_t n = strlen(c->base_url);
    while (n && c->base_url[n - 1] == '/') c->base_url[--n] = '\0';
    c->bookings_version = cc_host->setting_string(s, "bookings_api_version");
    c->create_version = cc_host->setting_string(s, "create_api_version");
    rc = load_numbers(c, s, res);
  }
  if (rc == SIDECAL_OK) rc = load_auth(c, ctx, s, res);
  if (rc == SIDECAL_OK) rc = load_types(c, s, res);
  if (rc == SIDECAL_OK) rc = load_tenant(c, ctx, s, res);
  if (rc != SIDECAL_OK) {
    cc_free(c);
    return rc;
  }
  *instance = c;
  return sidecal_ok(res);
}

static void calcom_destroy(void *instance) { cc_free(instance); }

static const struct sidecal_connector descriptor = {
  SIDECAL_CONNECTOR_STAMP,
  .name = "calcom",
  .version = "0.1.0",
  .description = "Cal.com bookings (API v2): list, create, reschedule, cancel, signed webhooks",
  .capabilities = SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | SIDECAL_CAP_WEBHOOKS |
                  SIDECAL_CAP_CREDENTIAL_REFRESH,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .instance_create = calcom_create,
  .instance_destroy = calcom_destroy,
  .list_events = cc_list_events,
  .create_event = cc_create_event,
  .update_event = cc_update_event,
  .delete_event = cc_delete_event,
  .webhook_verify = cc_webhook_verify,
  .webhook_parse = cc_webhook_parse,
  .refresh_credentials = cc_refresh,
};

const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  cc_host = h;
  return &descriptor;
}
