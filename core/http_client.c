/*
** HTTP client: one libcurl easy handle per attempt, response captured in
** memory, the idempotent-only retry rule from http_client.h.
*/
#include "http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct capture {
  char *body;
  size_t body_len;
  size_t body_cap;
  struct sc_http_header *headers;
  size_t n_headers;
  size_t headers_cap;
  int got_status;
  int oom;
  const volatile int32_t *cancel;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int sc_http_method_is_idempotent(const char *method) {
  static const char *const idem[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
  for (size_t i = 0; i < sizeof idem / sizeof idem[0]; i++)
    if (!strcmp(method, idem[i])) return 1;
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void capture_free(struct capture *c) {
  for (size_t i = 0; i < c->n_headers; i++) {
    free((char *)c->headers[i].name);
    free((char *)c->headers[i].value);
  }
  free(c->headers);
  free(c->body);
  memset(c, 0, sizeof *c);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  struct capture *c = ud;
  size_t len = size * n;
  if (c->body_len + len + 1 > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while (cap < c->body_len + len + 1) cap *= 2;
    char *p = realloc(c->body, cap);
    if (!p) { c->oom = 1; return 0; }
    c->body = p;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, data, len);
  c->body_len += len;
  c->body[c->body_len] = '\0';
  return len;
}

static char *trimmed_dup(const char *s, size_t len, int lower) {
  while (len && isspace((unsigned char)*s)) { s++; len--; }
  while (len && isspace((unsigned char)s[len - 1])) len--;
  char *out = malloc(len + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < len; i++)
    out[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
  out[len] = '\0';
  return out;
}

/* A status line starts a new header block (after 100 Continue, say), so
** only the final response's headers are kept. */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  struct capture *c = ud;
  size_t len = size * n;
  if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
    c->got_status = 1;
    for (size_t i = 0; i < c->n_headers; i++) {
      free((char *)c->headers[i].name);
      free((char *)c->headers[i].value);
    }
    c->n_headers = 0;
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (!colon) return len;
  if (c->n_headers == c->headers_cap) {
    size_t cap = c->headers_cap ? c->headers_cap * 2 : 16;
    struct sc_http_header *h = realloc(c->headers, cap * sizeof *h);
    if (!h) { c->oom = 1; return 0; }
    c->headers = h;
    c->headers_cap = cap;
  }
  char *name = trimmed_dup(data, (size_t)(colon - data), 1);
  char *value = trimmed_dup(colon + 1, len - (size_t)(colon - data) - 1, 0);
  if (!name || !value) { free(name); free(value); c->oom = 1; return 0; }
  c->headers[c->n_headers].name = name;
  c->headers[c->n_headers].value = value;
  c->n_headers++;
  return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt; (void)dn; (void)ut; (void)un;
  struct capture *c = ud;
  return c->cancel && *c->cancel ? 1 : 0;
}

static int method_is_valid(const char *m) {
  if (!m || !*m || strlen(m) > 16) return 0;
  for (const char *p = m; *p; p++)
    if (*p < 'A' || *p > 'Z') return 0;
  return 1;
}

/* One attempt. Returns the curl code; *status set when a response came. */
static CURLcode attempt(const struct sc_http_request *req, long timeout_ms,
                        struct capture *cap, long *status) {
  CURL *h = curl_easy_init();
  if (!h) return CURLE_OUT_OF_MEMORY;
  struct curl_slist *hdrs = NULL;
  CURLcode rc = CURLE_OK;
  for (size_t i = 0; i < req->n_headers && rc == CURLE_OK; i++) {
    size_t len = strlen(req->headers[i].name) + strlen(req->headers[i].value) + 3;
    char *line = malloc(len);
    if (!line) { rc = CURLE_OUT_OF_MEMORY; break; }
    snprintf(line, len, "%s: %s", req->headers[i].name, req->headers[i].value);
    struct curl_slist *n = curl_slist_append(hdrs, line);
    free(line);
    if (!n) rc = CURLE_OUT_OF_MEMORY;
    else hdrs = n;
  }
  if (rc == CURLE_OK) {
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (!strcmp(req->method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, cap);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, cap);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, cap);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return rc;
}

static int no_response(CURLcode rc, const struct capture *cap) {
  if (cap->got_status) return 0;
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING ||
         rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
}

int sc_http_request(const struct sc_http_request *req,
                    struct sc_http_response *resp, struct sc_error *err) {
  memset(resp, 0, sizeof *resp);
  if (!method_is_valid(req->method))
    return sc_error_set(err, SC_EINVAL, "method", "invalid HTTP method \"%s\"",
                        req->method ? req->method : "(null)");
  if (!req->url || (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8)))
    return sc_error_set(err, SC_EINVAL, "url", "URL must start with http:// or https://");
  if (req->timeout_ms <= 0)
    return sc_error_set(err, SC_EINVAL, "timeout_ms", "timeout must be positive");
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return sc_error_set(err, SC_EINTERNAL, NULL, "curl_global_init failed");

  int max_attempts = sc_http_method_is_idempotent(req->method) ? 2 : 1;
  int64_t start = now_ms();
  for (;;) {
    struct capture cap = {.cancel = req->cancel};
    long status = 0;
    long left = req->timeout_ms - (long)(now_ms() - start);
    if (left <= 0) left = 1;
    CURLcode rc = attempt(req, left, &cap, &status);
    resp->attempts++;
    if (rc == CURLE_OK) {
      resp->status = status;
      resp->headers = cap.headers;
      resp->n_headers = cap.n_headers;
      resp->body = cap.body ? cap.body : strdup("");
      resp->body_len = cap.body_len;
      return resp->body ? SC_OK : sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    }
    int oom = cap.oom || rc == CURLE_OUT_OF_MEMORY;
    int again = !oom && no_response(rc, &cap) && resp->attempts < max_attempts &&
                now_ms() - start < req->timeout_ms && !(req->cancel && *req->cancel);
    capture_free(&cap);
    if (again) continue;
    int attempts = resp->attempts;
    memset(resp, 0, sizeof *resp);
    resp->attempts = attempts;
    if (oom) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    resp->retryable = rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL;
    const char *why = rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled" : curl_easy_strerror(rc);
    /* The query string may carry an API key, so it is left out. */
    int url_len = (int)strcspn(req->url, "?#");
    return sc_error_set(err, rc == CURLE_URL_MALFORMAT ? SC_EINVAL : SC_EIO, "url",
                        "%s %.*s: %s (after %d attempt%s)", req->method, url_len,
                        req->url, why, attempts, attempts == 1 ? "" : "s");
  }
}

void sc_http_response_free(struct sc_http_response *resp) {
  if (!resp) return;
  for (size_t i = 0; i < resp->n_headers; i++) {
    free((char *)resp->headers[i].name);
    free((char *)resp->headers[i].value);
  }
  free(resp->headers);
  free(resp->body);
  memset(resp, 0, sizeof *resp);
}
