/*
** Finding the calendar collection from a base URL: principal, home set,
** calendars (PROPFIND with libxml2 parsing).
*/
#include "discovery.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_REDIRECTS 5

static int32_t refuse_url(const char *what, const char *url, struct sidecal_result *res) {
  char msg[SIDECAL_MESSAGE_MAX];
  snprintf(msg, sizeof msg,
           "%s %s is neither https:// nor http:// to a loopback address; refusing to send "
           "credentials there", what, url);
  return sidecal_error(res, msg);
}

int32_t cd_propfind(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                    const char *url, const char *depth, const char *body,
                    struct cd_multistatus *ms, char **final_url, struct sidecal_result *res) {
  char *cur = g_strdup(url);
  for (int hop = 0;; hop++) {
    if (!cd_url_allowed(cur)) {
      int32_t rc = refuse_url("URL", cur, res);
      g_free(cur);
      return rc;
    }
    struct cd_req r = {.method = "PROPFIND", .url = cur, .depth = depth,
                       .content_type = "application/xml; charset=utf-8", .body = body,
                       .body_len = strlen(body)};
    struct sidecal_http_response resp;
    if (cd_request(c, ctx, &r, &resp, res) != SIDECAL_OK) {
      g_free(cur);
      return res->code;
    }
    const char *loc = cd_header(&resp, "location");
    if (resp.status >= 300 && resp.status < 400 && loc && hop < MAX_REDIRECTS) {
      char *next = cd_url_resolve(cur, loc);
      cd_host->http_response_free(&resp);
      g_free(cur);
      if (!next) return sidecal_error(res, "the server redirected to an invalid URL");
      cur = next;
      continue;
    }
    int32_t rc;
    char why[128];
    if (resp.status != 207) {
      rc = cd_status_result(&resp, "PROPFIND", cur, res);
    } else if (cd_multistatus_parse(resp.body, resp.body_len, ms, why, sizeof why)) {
      char msg[SIDECAL_MESSAGE_MAX];
      snprintf(msg, sizeof msg, "PROPFIND %s: %s", cd_url_path(cur), why);
      rc = sidecal_error(res, msg);
    } else {
      rc = sidecal_ok(res);
    }
    cd_host->http_response_free(&resp);
    if (rc == SIDECAL_OK && final_url) *final_url = cur;
    else g_free(cur);
    return rc;
  }
}

/* The first response's value of a property read by field. */
static char *first_prop(const struct cd_multistatus *ms, size_t offset) {
  for (size_t i = 0; i < ms->n; i++) {
    char *v = *(char **)((char *)&ms->r[i] + offset);
    if (v && *v) return g_strdup(v);
  }
  return NULL;
}

static int32_t find_principal(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                              const char *base, char **principal, struct sidecal_result *res) {
  char *body = cd_body_propfind_principal();
  const char *starts[2] = {base, "/.well-known/caldav"};
  int32_t rc = SIDECAL_ERROR;
  *principal = NULL;
  for (int i = 0; i < 2 && !*principal; i++) {
    char *url = cd_url_resolve(base, starts[i]);
    struct cd_multistatus ms = {0};
    char *answered = NULL;
    rc = url ? cd_propfind(c, ctx, url, "0", body, &ms, &answered, res)
             : sidecal_error(res, "base_url is not a valid URL");
    if (rc == SIDECAL_OK) {
      char *href = first_prop(&ms, offsetof(struct cd_dav_response, principal));
      if (href) *principal = cd_url_resolve(answered, href);
      g_free(href);
    }
    cd_multistatus_free(&ms);
    g_free(answered);
    g_free(url);
    if (rc == SIDECAL_UNAUTHORIZED || rc == SIDECAL_RETRY) break;
  }
  g_free(body);
  if (*principal) return sidecal_ok(res);
  if (rc == SIDECAL_OK || rc == SIDECAL_ERROR) {
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s offers no DAV:current-user-principal (is base_url a "
             "CalDAV server? set calendar_url to skip discovery)", base);
    return sidecal_error(res, msg);
  }
  return rc;
}

static int32_t find_home(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                         const char *principal, char **home, struct sidecal_result *res) {
  char *body = cd_body_propfind_home();
  struct cd_multistatus ms = {0};
  char *answered = NULL;
  *home = NULL;
  int32_t rc = cd_propfind(c, ctx, principal, "0", body, &ms, &answered, res);
  if (rc == SIDECAL_OK) {
    char *href = first_prop(&ms, offsetof(struct cd_dav_response, home));
    if (href) *home = cd_url_resolve(answered, href);
    g_free(href);
    if (!*home) {
      char msg[SIDECAL_MESSAGE_MAX];
      snprintf(msg, sizeof msg, "principal %s has no calendar-home-set", cd_url_path(principal));
      rc = sidecal_error(res, msg);
    }
  }
  cd_multistatus_free(&ms);
  g_free(answered);
  g_free(body);
  return rc;
}

static const char *last_segment(const char *href, size_t *len) {
  size_t n = strlen(href);
  while (n && href[n - 1] == '/') n--;
  size_t s = n;
  while (s && href[s - 1] != '/') s--;
  *len = n - s;
  return href + s;
}

static int name_matches(const struct cd_dav_response *r, const char *name) {
  if (!name) return 1;
  if (r->displayname && !strcmp(r->displayname, name)) return 1;
  size_t len;
  const char *seg = last_segment(r->href, &len);
  return strlen(name) == len && !strncmp(seg, name, len);
}

static int32_t pick_calendar(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                             const char *home, const char *name, char **out,
                             struct sidecal_result *res) {
  char *body = cd_body_propfind_calendars();
  struct cd_multistatus ms = {0};
  char *answered = NULL;
  int32_t rc = cd_propfind(c, ctx, home, "1", body, &ms, &answered, res);
  const char *best = NULL;
  for (size_t i = 0; rc == SIDECAL_OK && i < ms.n; i++) {
    const struct cd_dav_response *r = &ms.r[i];
    if (!r->is_calendar || (r->has_comp_set && !r->supports_vevent)) continue;
    if (!name_matches(r, name)) continue;
    if (!best || strcmp(r->href, best) < 0) best = r->href;
  }
  if (rc == SIDECAL_OK && best) {
    char *url = cd_url_resolve(answered, best);
    *out = url && !g_str_has_suffix(url, "/") ? g_strconcat(url, "/", NULL) : g_strdup(url);
    g_free(url);
  } else if (rc == SIDECAL_OK) {
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "no calendar collection for events%s%s%s under %s",
             name ? " named \"" : "", name ? name : "", name ? "\"" : "", cd_url_path(home));
    rc = sidecal_error(res, msg);
  }
  cd_multistatus_free(&ms);
  g_free(answered);
  g_free(body);
  return rc;
}

int32_t cd_discover(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                    const char *base_url, const char *name, char **calendar_url,
                    struct sidecal_result *res) {
  char *principal = NULL, *home = NULL;
  *calendar_url = NULL;
  int32_t rc = find_principal(c, ctx, base_url, &principal, res);
  if (rc == SIDECAL_OK) rc = find_home(c, ctx, principal, &home, res);
  if (rc == SIDECAL_OK && !cd_url_allowed(home)) rc = refuse_url("calendar home", home, res);
  if (rc == SIDECAL_OK) rc = pick_calendar(c, ctx, home, name, calendar_url, res);
  if (rc == SIDECAL_OK)
    cd_host->log(ctx->host_instance, SIDECAL_LOG_INFO, "request=%s calendar found at %s",
                 ctx->request_id, cd_url_path(*calendar_url));
  g_free(principal);
  g_free(home);
  return rc;
}
