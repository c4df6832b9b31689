/*
** caldav: CalDAV calendars (RFC 4791), including Apple iCloud, as a
** sidecal connector. This file holds the settings map, instances, the
** write callbacks (PUT / DELETE with ETag preconditions) and the
** descriptor; discovery.c finds the calendar, sync.c reads it, ics_*.c
** convert iCalendar, dav_*.c speak WebDAV.
*/
#include "caldav.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "discovery.h"
#include "ics_read.h"
#include "ics_write.h"
#include "sync.h"

const struct sidecal_host_api *cd_host;

static const struct sidecal_setting_def settings[] = {
  {"provider", SIDECAL_SETTING_STRING, 0, "\"caldav\"",
   "\"caldav\" for any CalDAV server, \"apple\" for iCloud (base_url defaults to "
   "https://caldav.icloud.com/; use an app-specific password)."},
  {"base_url", SIDECAL_SETTING_STRING, 0, NULL,
   "Where discovery starts (current-user-principal, calendar-home-set). Required for "
   "provider caldav unless calendar_url is set. https://, or http:// to a loopback "
   "address only."},
  {"calendar_url", SIDECAL_SETTING_STRING, 0, NULL,
   "The calendar collection itself; skips discovery."},
  {"calendar", SIDECAL_SETTING_STRING, 0, NULL,
   "Which calendar discovery picks: its display name or last path segment. Default: the "
   "first calendar that holds events."},
  {"username", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL,
   "User name for HTTP Basic authentication (iCloud: the Apple Account e-mail)."},
  {"password", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED | SIDECAL_SETTING_SECRET, NULL,
   "Password for HTTP Basic authentication (iCloud: an app-specific password)."},
  {"max_window_days", SIDECAL_SETTING_INT, 0, "400",
   "Longest sync window expanded per call, in days; longer windows are cut at the end."},
  {"timeout_ms", SIDECAL_SETTING_INT, 0, "30000", "Timeout of each HTTP request."},
};

/* ---- instances -------------------------------------------------------- */

static int32_t create_fail(struct caldav *cd, struct sidecal_result *res, const char *msg) {
  g_free(cd->base_url);
  g_free(cd->calendar_name);
  g_free(cd->calendar_url);
  g_free(cd);
  return sidecal_error(res, msg);
}

static char *with_slash(const char *url) {
  return g_str_has_suffix(url, "/") ? g_strdup(url) : g_strconcat(url, "/", NULL);
}

static int32_t caldav_create(const struct sidecal_call_ctx *ctx, const struct sidecal_settings *s,
                             void **instance, struct sidecal_result *res) {
  (void)ctx;
  const struct sidecal_host_api *h = cd_host;
  struct caldav *cd = g_new0(struct caldav, 1);
  char msg[SIDECAL_MESSAGE_MAX];
  const char *provider = h->setting_string(s, "provider");
  int apple = provider && !strcasecmp(provider, "apple");
  if (provider && !apple && strcasecmp(provider, "caldav"))
    return create_fail(cd, res, "provider must be \"caldav\" or \"apple\"");
  const char *base = h->setting_string(s, "base_url");
  const char *cal = h->setting_string(s, "calendar_url");
  if (!base && apple) base = CD_ICLOUD_URL;
  if (!base && !cal)
    return create_fail(cd, res, "set base_url (or calendar_url) for a caldav provider");
  const char *urls[2] = {base, cal}, *names[2] = {"base_url", "calendar_url"};
  for (int i = 0; i < 2; i++) {
    if (urls[i] && !cd_url_allowed(urls[i])) {
      snprintf(msg, sizeof msg,
               "%s %s: only https:// is allowed, or http:// to a loopback address "
               "(credentials would cross the network in clear text)", names[i], urls[i]);
      return create_fail(cd, res, msg);
    }
  }
  int64_t days = 400, timeout = 30000;
  h->setting_int(s, "max_window_days", &days);
  h->setting_int(s, "timeout_ms", &timeout);
  if (days < 1 || days > 3660) return create_fail(cd, res, "max_window_days must be 1..3660");
  if (timeout < 100 || timeout > 600000)
    return create_fail(cd, res, "timeout_ms must be 100..600000");
  cd->conn = (struct cd_conn){.host = h, .username = h->setting_string(s, "username"),
                              .timeout_ms = (uint32_t)timeout};
  cd->base_url = g_strdup(base);
  cd->calendar_name = g_strdup(h->setting_string(s, "calendar"));
  cd->calendar_url = cal ? with_slash(cal) : NULL;
  cd->max_window_s = days * 86400;
  g_mutex_init(&cd->lock);
  cd_cache_init(&cd->cache);
  *instance = cd;
  return sidecal_ok(res);
}

static void caldav_destroy(void *instance) {
  struct caldav *cd = instance;
  if (!cd) return;
  cd_cache_clear(&cd->cache);
  g_mutex_clear(&cd->lock);
  g_free(cd->base_url);
  g_free(cd->calendar_name);
  g_free(cd->calendar_url);
  g_free(cd);
}

int32_t cd_calendar_url(struct caldav *cd, const struct sidecal_call_ctx *ctx, char **url,
                        struct sidecal_result *res) {
  g_mutex_lock(&cd->lock);
  *url = g_strdup(cd->calendar_url);
  g_mutex_unlock(&cd->lock);
  if (*url) return sidecal_ok(res);
  /* Discovery runs without the lock; two racing callers find the same URL. */
  int32_t rc = cd_discover(&cd->conn, ctx, cd->base_url, cd->calendar_name, url, res);
  if (rc != SIDECAL_OK) return rc;
  g_mutex_lock(&cd->lock);
  if (!cd->calendar_url) cd->calendar_url = g_strdup(*url);
  g_mutex_unlock(&cd->lock);
  return rc;
}

/* ---- writes ----------------------------------------------------------- */

/* The resource name and UID for a marker "sidecal:<appointment id>":
** derived, so a create retried after an unknown outcome addresses the same
** resource instead of writing a second one. */
static char *uid_for(const char *marker) {
  if (!marker || !*marker) {
    char *u = g_uuid_string_random();
    char *uid = g_strconcat("sidecal-", u, NULL);
    g_free(u);
    return uid;
  }
  GString *s = g_string_new("");
  for (const char *p = marker; *p; p++)
    g_string_append_c(s, g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '-');
  return g_string_free(s, FALSE);
}

static char *uid_of_href(const char *external_id) {
  size_t len = strcspn(external_id, "#");
  const char *slash = memrchr(external_id, '/', len);
  const char *name = slash ? slash + 1 : external_id;
  size_t n = len - (size_t)(name - external_id);
  if (n > 4 && !strncmp(name + n - 4, ".ics", 4)) n -= 4;
  return n ? g_strndup(name, n) : uid_for(NULL);
}

static const char *marker_of(const struct sidecal_event *ev) {
  return SIDECAL_EVENT_HAS(ev, marker) ? ev->marker : NULL;
}

/* The resource URL for an external id "<href>[#<occurrence>]". */
static char *resource_url(const char *cal, const char *external_id) {
  char *href = g_strndup(external_id, strcspn(external_id, "#"));
  char *url = cd_url_resolve(cal, href);
  g_free(href);
  return url;
}

static int32_t fetch_etag(struct caldav *cd, const struct sidecal_call_ctx *ctx, const char *url,
                          char **etag, char **body, struct sidecal_result *res) {
  struct cd_req r = {.method = "GET", .url = url};
  struct sidecal_http_response resp;
  *etag = NULL;
  if (body) *body = NULL;
  if (cd_request(&cd->conn, ctx, &r, &resp, res) != SIDECAL_OK) return res->code;
  int32_t rc = resp.status == 200 ? sidecal_ok(res) : cd_status_result(&resp, "GET", url, res);
  if (rc == SIDECAL_OK) {
    *etag = g_strdup(cd_header(&resp, "etag"));
    if (body) *body = g_strdup(resp.body);
  }
  cd_host->http_response_free(&resp);
  return rc;
}

static void fill_out(struct sidecal_write_result *out, const char *url, const char *etag) {
  g_strlcpy(out->external_id, cd_url_path(url), sizeof out->external_id);
  g_strlcpy(out->etag, etag ? etag : "", sizeof out->etag);
}

/* PUT ics to url under one precondition; 412 -> SIDECAL_CONFLICT. */
static int32_t put(struct caldav *cd, const struct sidecal_call_ctx *ctx, const char *url,
                   const char *ics, const char *if_match, int if_none_match,
                   struct sidecal_write_result *out, struct sidecal_result *res) {
  struct cd_req r = {.method = "PUT", .url = url, .content_type = "text/calendar; charset=utf-8",
                     .if_match = if_match, .if_none_match_any = if_none_match, .body = ics,
                     .body_len = strlen(ics)};
  struct sidecal_http_response resp;
  if (cd_request(&cd->conn, ctx, &r, &resp, res) != SIDECAL_OK) return res->code;
  int32_t rc;
  if (resp.status == 200 || resp.status == 201 || resp.status == 204) {
    char *etag = g_strdup(cd_header(&resp, "etag"));
    rc = sidecal_ok(res);
    /* No ETag means the server changed what we sent; ask for the stored one. */
    if (!etag) rc = fetch_etag(cd, ctx, url, &etag, NULL, res);
    if (rc == SIDECAL_OK) fill_out(out, url, etag);
    g_free(etag);
  } else {
    rc = cd_status_result(&resp, "PUT", url, res);
  }
  cd_host->http_response_free(&resp);
  return rc;
}

static int32_t build(const struct sidecal_event *ev, const char *uid, char **ics,
                     struct sidecal_result *res) {
  char why[160];
  *ics = cd_ics_build(ev, uid, marker_of(ev), cd_host->now_utc_ms() / 1000, why, sizeof why);
  return *ics ? SIDECAL_OK : sidecal_error(res, why);
}

/* The resource exists already: ours from an earlier attempt (same marker)
** is overwritten under its current ETag; anything else is left alone. */
static int32_t adopt(struct caldav *cd, const struct sidecal_call_ctx *ctx, const char *url,
                     const char *ics, const char *marker, struct sidecal_write_result *out,
                     struct sidecal_result *res) {
  char *etag = NULL, *body = NULL;
  int32_t rc = fetch_etag(cd, ctx, url, &etag, &body, res);
  if (rc != SIDECAL_OK) return rc;
  char *found = cd_ics_marker(body);
  if (marker && found && !strcmp(found, marker) && etag) {
    rc = put(cd, ctx, url, ics, etag, 0, out, res);
  } else {
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s exists and was not written by sidecal for this appointment",
             cd_url_path(url));
    rc = sidecal_error(res, msg);
  }
  g_free(found);
  g_free(body);
  g_free(etag);
  return rc;
}

static int32_t caldav_create_event(void *instance, const struct sidecal_call_ctx *ctx,
                                   const struct sidecal_event *ev,
                                   struct sidecal_write_result *out,
                                   struct sidecal_result *res) {
  struct caldav *cd = instance;
  char *cal = NULL, *ics = NULL, *uid = uid_for(marker_of(ev));
  int32_t rc = build(ev, uid, &ics, res);
  if (rc == SIDECAL_OK) rc = cd_calendar_url(cd, ctx, &cal, res);
  if (rc == SIDECAL_OK) {
    char *url = g_strconcat(cal, uid, ".ics", NULL);
    rc = put(cd, ctx, url, ics, NULL, 1, out, res);
    if (rc == SIDECAL_CONFLICT) rc = adopt(cd, ctx, url, ics, marker_of(ev), out, res);
    g_free(url);
  }
  g_free(cal);
  g_free(ics);
  g_free(uid);
  return rc;
}

static int32_t caldav_update_event(void *instance, const struct sidecal_call_ctx *ctx,
                                   const char *external_id, const char *if_match,
                                   const struct sidecal_event *ev,
                                   struct sidecal_write_result *out,
                                   struct sidecal_result *res) {
  struct caldav *cd = instance;
  char *cal = NULL, *ics = NULL, *url = NULL;
  /* The UID is the one the create wrote: both derive from the marker, and
  ** without a marker (an ABI 1.0 host) the resource name is the UID. */
  char *uid = marker_of(ev) ? uid_for(marker_of(ev)) : uid_of_href(external_id);
  int32_t rc = build(ev, uid, &ics, res);
  if (rc == SIDECAL_OK) rc = cd_calendar_url(cd, ctx, &cal, res);
  if (rc == SIDECAL_OK && !(url = resource_url(cal, external_id)))
    rc = sidecal_error(res, "the external id is not a valid resource path");
  if (rc == SIDECAL_OK) rc = put(cd, ctx, url, ics, if_match && *if_match ? if_match : NULL, 0,
                                 out, res);
  if (rc == SIDECAL_CONFLICT) {
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s changed on the server since ETag %s (HTTP 412)",
             cd_url_path(url), if_match ? if_match : "(none)");
    sidecal_result_set(res, SIDECAL_CONFLICT, 0, msg);
  }
  g_free(url);
  g_free(cal);
  g_free(ics);
  g_free(uid);
  return rc;
}

static int32_t caldav_delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                                   const char *external_id, const char *if_match,
                                   struct sidecal_result *res) {
  struct caldav *cd = instance;
  char *cal = NULL, *url = NULL;
  int32_t rc = cd_calendar_url(cd, ctx, &cal, res);
  if (rc == SIDECAL_OK && !(url = resource_url(cal, external_id)))
    rc = sidecal_error(res, "the external id is not a valid resource path");
  if (rc == SIDECAL_OK) {
    struct cd_req r = {.method = "DELETE", .url = url,
                       .if_match = if_match && *if_match ? if_match : NULL};
    struct sidecal_http_response resp;
    rc = cd_request(&cd->conn, ctx, &r, &resp, res);
    if (rc == SIDECAL_OK) {
      /* 404: already gone, which is what a delete wants. */
      if (resp.status == 200 || resp.status == 204 || resp.status == 404) rc = sidecal_ok(res);
      else rc = cd_status_result(&resp, "DELETE", url, res);
      cd_host->http_response_free(&resp);
    }
  }
  g_free(url);
  g_free(cal);
  return rc;
}

/* ---- the descriptor --------------------------------------------------- */

static const struct sidecal_connector descriptor = {
  SIDECAL_CONNECTOR_STAMP,
  .name = "caldav",
  .version = "1.0.0",
  .description = "CalDAV calendars (RFC 4791, WebDAV sync), including Apple iCloud",
  .capabilities = SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | SIDECAL_CAP_FREE_BUSY,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .instance_create = caldav_create,
  .instance_destroy = caldav_destroy,
  .list_events = cd_list_events,
  .create_event = caldav_create_event,
  .update_event = caldav_update_event,
  .delete_event = caldav_delete_event,
  .free_busy = cd_free_busy,
};

const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  cd_host = h;
  return &descriptor;
}
