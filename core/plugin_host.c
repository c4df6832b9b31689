/*
** Connector plugin host: content-named copy + dlopen, the stamp-first
** descriptor checks, the host services table and instance bookkeeping.
*/
#include "plugin_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "log.h"

#define MAX_PLUGIN_BYTES (256L * 1024 * 1024)
/* magic, abi_major, abi_minor, struct_size, name, version: frozen forever. */
#define STAMP_SIZE (offsetof(struct sidecal_connector, version) + sizeof(const char *))
/* The smallest descriptor of this major (ABI 1.0 is the first minor). */
#define DESC_SIZE_1_0 sizeof(struct sidecal_connector)
#define SETTING_DEF_SIZE_1_0 sizeof(struct sidecal_setting_def)

/* ---- small helpers -------------------------------------------------- */

int64_t sc_plugin_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_utc_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int plugin_name_ok(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

/* Copies a string out of plugin memory for a message: bounded, printable. */
static void safe_copy(char *dst, size_t size, const char *src) {
  size_t i = 0;
  if (!src) src = "?";
  for (; src[i] && i + 1 < size; i++)
    dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
  dst[i] = '\0';
}

char *sc_plugin_caps_string(uint64_t caps, char *buf, size_t size) {
  static const struct { uint64_t bit; const char *name; } names[] = {
    {SIDECAL_CAP_READ_EVENTS, "read_events"},
    {SIDECAL_CAP_WRITE_EVENTS, "write_events"},
    {SIDECAL_CAP_WEBHOOKS, "webhooks"},
    {SIDECAL_CAP_FREE_BUSY, "free_busy"},
    {SIDECAL_CAP_CREDENTIAL_REFRESH, "credential_refresh"},
    {SIDECAL_CAP_WEBHOOK_RETRY_429, "webhook_retry_429"},
  };
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if ((caps & names[i].bit) && len < size)
      len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", names[i].name);
  if (!len) snprintf(buf, size, "none");
  return buf;
}

/* ---- the file: checks, hash, content-named copy ---------------------- */

static int read_plugin_file(const char *path, const char *name, unsigned char **data,
                            size_t *len, struct sc_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return sc_error_set(err, SC_EIO, NULL, "%s: connector \"%s\" cannot be loaded: %s",
                        path, name, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s: connector \"%s\" refused: not a regular file", path, name);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s: connector \"%s\" refused: file is group- or world-writable "
                        "(mode %04o); run chmod go-w on it",
                        path, name, (unsigned)(st.st_mode & 07777));
  if (st.st_size > MAX_PLUGIN_BYTES)
    return sc_error_set(err, SC_EINVAL, NULL, "%s: connector \"%s\" refused: larger than %ld bytes",
                        path, name, MAX_PLUGIN_BYTES);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sc_error_set(err, SC_EIO, NULL, "%s: connector \"%s\" cannot be read: %s",
                        path, name, strerror(errno));
  unsigned char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!buf || got != (size_t)st.st_size) {
    free(buf);
    return sc_error_set(err, SC_EIO, NULL, "%s: connector \"%s\" cannot be read: short read",
                        path, name);
  }
  *data = buf;
  *len = got;
  return SC_OK;
}

static int sha256_hex(const unsigned char *data, size_t len, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL)) return SC_ECRYPTO;
  for (unsigned int i = 0; i < md_len; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return SC_OK;
}

static int ensure_dir(const char *dir, struct sc_error *err) {
  if (mkdir(dir, 0700) == 0 || errno == EEXIST) return SC_OK;
  return sc_error_set(err, SC_EIO, NULL, "%s: cannot create plugin cache directory: %s",
                      dir, strerror(errno));
}

/* Writes via a temporary name and rename(), so a concurrent loader never
** maps a half-written copy. An existing copy has the same content by name. */
static int write_copy(const char *copy, const unsigned char *data, size_t len,
                      struct sc_error *err) {
  struct stat st;
  if (stat(copy, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len)
    return SC_OK;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", copy, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0500);
  if (fd < 0)
    return sc_error_set(err, SC_EIO, NULL, "%s: cannot write plugin copy: %s", tmp, strerror(errno));
  size_t put = 0;
  while (put < len) {
    ssize_t n = write(fd, data + put, len - put);
    if (n <= 0) break;
    put += (size_t)n;
  }
  int ok = put == len && close(fd) == 0;
  if (put != len) close(fd);
  if (!ok || rename(tmp, copy) != 0) {
    int e = errno;
    unlink(tmp);
    return sc_error_set(err, SC_EIO, NULL, "%s: cannot write plugin copy: %s", copy, strerror(e));
  }
  return SC_OK;
}

/* ---- the descriptor ------------------------------------------------- */

struct refusal {
  const char *path;
  const char *name;
  struct sc_error *err;
};

static int refuse_unknown(const struct refusal *r, const char *reason) {
  return sc_error_set(r->err, SC_EINVAL, NULL,
                      "%s: connector \"%s\" (ABI unknown) refused by host (ABI %u.%u): %s",
                      r->path, r->name, SIDECAL_ABI_MAJOR, SIDECAL_ABI_MINOR, reason);
}

static int refuse(const struct refusal *r, const struct sidecal_connector *d,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(const struct refusal *r, const struct sidecal_connector *d,
                  const char *fmt, ...) {
  char reason[600], version[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  safe_copy(version, sizeof version, d->version);
  return sc_error_set(r->err, SC_EINVAL, NULL,
                      "%s: connector \"%s\" %s (ABI %u.%u) refused by host (ABI %u.%u): %s",
                      r->path, r->name, version, d->abi_major, d->abi_minor,
                      SIDECAL_ABI_MAJOR, SIDECAL_ABI_MINOR, reason);
}

struct required_cb {
  uint64_t cap;       /* 0: always required */
  const char *cap_name;
  const char *cb_name;
  size_t offset;
};

#define CB(cap, capname, field) \
  {cap, capname, #field, offsetof(struct sidecal_connector, field)}
static const struct required_cb required_cbs[] = {
  CB(0, NULL, instance_create),
  CB(0, NULL, instance_destroy),
  CB(SIDECAL_CAP_READ_EVENTS, "read_events", list_events),
  CB(SIDECAL_CAP_WRITE_EVENTS, "write_events", create_event),
  CB(SIDECAL_CAP_WRITE_EVENTS, "write_events", update_event),
  CB(SIDECAL_CAP_WRITE_EVENTS, "write_events", delete_event),
  CB(SIDECAL_CAP_WEBHOOKS, "webhooks", webhook_verify),
  CB(SIDECAL_CAP_WEBHOOKS, "webhooks", webhook_parse),
  CB(SIDECAL_CAP_FREE_BUSY, "free_busy", free_busy),
  CB(SIDECAL_CAP_CREDENTIAL_REFRESH, "credential_refresh", refresh_credentials),
};
#undef CB

#define KNOWN_CAPS (SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | \
                    SIDECAL_CAP_WEBHOOKS | SIDECAL_CAP_FREE_BUSY |         \
                    SIDECAL_CAP_CREDENTIAL_REFRESH | SIDECAL_CAP_WEBHOOK_RETRY_429)

/* A callback is present only if it lies inside the plugin's struct_size
** and is non-NULL; the zeroed copy makes the first test implicit. */
static int check_callbacks(const struct refusal *r, const struct sidecal_connector *d) {
  for (size_t i = 0; i < sizeof required_cbs / sizeof required_cbs[0]; i++) {
    const struct required_cb *c = &required_cbs[i];
    if (c->cap && !(d->capabilities & c->cap)) continue;
    void *fn;
    memcpy(&fn, (const char *)d + c->offset, sizeof fn);
    if (fn) continue;
    if (c->cap)
      return refuse(r, d, "capability %s needs callback %s, which is missing",
                    c->cap_name, c->cb_name);
    return refuse(r, d, "required callback %s is missing", c->cb_name);
  }
  return SC_OK;
}

static int copy_settings(const struct refusal *r, const struct sidecal_connector *d,
                         struct sc_plugin *p) {
  if (!d->n_settings) return SC_OK;
  if (!d->settings)
    return refuse(r, d, "n_settings is %u but settings is NULL", d->n_settings);
  if (d->setting_def_size < SETTING_DEF_SIZE_1_0 ||
      d->setting_def_size > sizeof(struct sidecal_setting_def))
    return refuse(r, d, "setting_def_size %u is not between %zu and %zu", d->setting_def_size,
                  SETTING_DEF_SIZE_1_0, sizeof(struct sidecal_setting_def));
  if (d->n_settings > 1024)
    return refuse(r, d, "declares %u settings (at most 1024)", d->n_settings);
  p->settings = calloc(d->n_settings, sizeof *p->settings);
  if (!p->settings) return sc_error_set(r->err, SC_ENOMEM, NULL, "out of memory");
  for (uint32_t i = 0; i < d->n_settings; i++)
    memcpy(&p->settings[i], (const char *)d->settings + (size_t)i * d->setting_def_size,
           d->setting_def_size);
  p->n_settings = d->n_settings;
  char why[400];
  if (sc_setting_defs_check(p->settings, p->n_settings, why, sizeof why))
    return refuse(r, d, "bad settings map: %s", why);
  return SC_OK;
}

/* Stamp first, then trust: nothing past the stamp is read before the
** magic, versions and size have been accepted. */
static int check_descriptor(const struct refusal *r, const struct sidecal_connector *src,
                            struct sc_plugin *p) {
  if (!src) return refuse_unknown(r, "sidecal_connector_entry returned NULL");
  if (src->magic != SIDECAL_CONNECTOR_MAGIC) {
    char reason[200];
    snprintf(reason, sizeof reason,
             "bad magic 0x%08x (expected 0x%08x); not a sidecal connector descriptor",
             src->magic, SIDECAL_CONNECTOR_MAGIC);
    return refuse_unknown(r, reason);
  }
  if (src->struct_size < STAMP_SIZE) {
    char reason[200];
    snprintf(reason, sizeof reason, "descriptor size %u is smaller than the %zu-byte stamp",
             src->struct_size, (size_t)STAMP_SIZE);
    return refuse_unknown(r, reason);
  }
  if (src->abi_major != SIDECAL_ABI_MAJOR)
    return refuse(r, src, "ABI major %u differs from the host's %u; rebuild it against "
                  "sidecal-sdk %u", src->abi_major, SIDECAL_ABI_MAJOR, SIDECAL_ABI_MAJOR);
  if (src->abi_minor > SIDECAL_ABI_MINOR)
    return refuse(r, src, "built for a newer host (ABI minor %u > %u); upgrade sidecal "
                  "or rebuild the connector against this SDK", src->abi_minor, SIDECAL_ABI_MINOR);
  if (src->struct_size > sizeof(struct sidecal_connector))
    return refuse(r, src, "descriptor is %u bytes, larger than the %zu bytes this host "
                  "knows for ABI %u.%u", src->struct_size, sizeof(struct sidecal_connector),
                  SIDECAL_ABI_MAJOR, SIDECAL_ABI_MINOR);
  if (src->struct_size < DESC_SIZE_1_0)
    return refuse(r, src, "descriptor is %u bytes, smaller than the %zu bytes of ABI %u.0",
                  src->struct_size, (size_t)DESC_SIZE_1_0, SIDECAL_ABI_MAJOR);
  struct sidecal_connector *d = &p->desc;
  memset(d, 0, sizeof *d);
  memcpy(d, src, src->struct_size);
  char dname[80];
  safe_copy(dname, sizeof dname, d->name);
  if (!d->name || strcmp(d->name, r->name))
    return refuse(r, d, "descriptor name \"%s\" does not match the file name \"%s.so\"",
                  dname, r->name);
  if (!d->version || !*d->version) return refuse(r, d, "version string is missing");
  /* Capability flags carry no callback of their own; a bit this host
  ** does not know means a newer SDK, which the minor check already caught,
  ** or garbage. */
  if (d->capabilities & ~(uint64_t)KNOWN_CAPS)
    return refuse(r, d, "unknown capability bits 0x%llx",
                  (unsigned long long)(d->capabilities & ~(uint64_t)KNOWN_CAPS));
  int rc = check_callbacks(r, d);
  return rc ? rc : copy_settings(r, d, p);
}

static int open_and_check(struct sc_plugin *p, struct sc_error *err) {
  struct refusal r = {p->path, p->name, err};
  dlerror();
  p->handle = dlopen(p->copy_path, RTLD_NOW | RTLD_LOCAL);
  if (!p->handle) {
    char reason[700];
    const char *e = dlerror();
    snprintf(reason, sizeof reason, "dlopen failed: %s (check its dependencies with ldd)",
             e ? e : "unknown error");
    return refuse_unknown(&r, reason);
  }
  sidecal_connector_entry_fn entry;
  void *sym = dlsym(p->handle, SIDECAL_ENTRY_SYMBOL);
  if (!sym)
    return refuse_unknown(&r, "no sidecal_connector_entry symbol; a connector must export "
                              "it (see sidecal/connector.h)");
  memcpy(&entry, &sym, sizeof entry);
  return check_descriptor(&r, entry(sc_plugin_host_api()), p);
}

int sc_plugin_load(const char *plugin_dir, const char *name, const char *cache_dir,
                   struct sc_plugin **out, struct sc_error *err) {
  if (!plugin_name_ok(name))
    return sc_error_set(err, SC_EINVAL, "plugin", "plugin name \"%s\" must match [a-z0-9_]+",
                        name ? name : "");
  struct sc_plugin *p = calloc(1, sizeof *p);
  if (!p) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  p->name = strdup(name);
  size_t plen = strlen(plugin_dir) + strlen(name) + 5;
  p->path = malloc(plen);
  if (!p->name || !p->path) {
    sc_plugin_free(p, 0);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  snprintf(p->path, plen, "%s/%s.so", plugin_dir, name);
  unsigned char *data = NULL;
  size_t len = 0;
  int rc = read_plugin_file(p->path, name, &data, &len, err);
  if (!rc && sha256_hex(data, len, p->sha256))
    rc = sc_error_set(err, SC_ECRYPTO, NULL, "%s: cannot hash the file", p->path);
  if (!rc) rc = ensure_dir(cache_dir, err);
  if (!rc) {
    size_t clen = strlen(cache_dir) + strlen(name) + 24;
    p->copy_path = malloc(clen);
    if (!p->copy_path) rc = sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    else snprintf(p->copy_path, clen, "%s/%s.%.16s.so", cache_dir, name, p->sha256);
  }
  if (!rc) rc = write_copy(p->copy_path, data, len, err);
  free(data);
  if (!rc) rc = open_and_check(p, err);
  if (rc) {
    sc_plugin_free(p, 1);
    return rc;
  }
  *out = p;
  return SC_OK;
}

void sc_plugin_free(struct sc_plugin *p, int do_dlclose) {
  if (!p) return;
  if (p->handle && do_dlclose) dlclose(p->handle);
  free(p->settings);
  free(p->name);
  free(p->path);
  free(p->copy_path);
  free(p);
}

void sc_plugin_describe(const struct sc_plugin *p, FILE *out) {
  char caps[160];
  fprintf(out, "%s %s (ABI %u.%u)\n", p->name, p->desc.version, p->desc.abi_major,
          p->desc.abi_minor);
  if (p->desc.description) fprintf(out, "  %s\n", p->desc.description);
  fprintf(out, "file: %s\nsha256: %s\ncapabilities: %s\n", p->path, p->sha256,
          sc_plugin_caps_string(p->desc.capabilities, caps, sizeof caps));
  sc_plugin_settings_describe(p->settings, p->n_settings, out);
}

/* ---- the host services table ---------------------------------------- */

static void host_log(struct sidecal_host_instance *hi, uint32_t level, const char *fmt, ...) {
  char msg[1500];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  enum sc_log_level lvl = level > SIDECAL_LOG_ERROR ? SC_LOG_ERROR : (enum sc_log_level)level;
  if (hi && hi->inst)
    sc_log(lvl, "connector=%s instance=%s %s", hi->inst->plugin->name, hi->inst->name, msg);
  else
    sc_log(lvl, "connector=? %s", msg);
}

static int32_t host_secret_read(struct sidecal_host_instance *hi, const char *key,
                                char *buf, size_t size) {
  if (!hi || !hi->inst || !key) return -1;
  struct sc_plugin_instance *in = hi->inst;
  char *value = NULL;
  pthread_mutex_lock(&in->lock);
  for (size_t i = 0; i < in->n_rotated; i++)
    if (!strcmp(in->rotated[i].name, key)) value = strdup(in->rotated[i].ref);
  pthread_mutex_unlock(&in->lock);
  if (!value) {
    const char *ref = NULL;
    for (size_t i = 0; i < in->n_secrets; i++)
      if (!strcmp(in->secrets[i].name, key)) ref = in->secrets[i].ref;
    if (!ref) return -1;
    struct sc_error err;
    if (!in->secret_store || !in->secret_store->read ||
        in->secret_store->read(in->secret_store->ud, in->name, key, ref, &value, &err)) {
      sc_log_warn("instance=%s secret=%s cannot be read: %s", in->name, key,
                  in->secret_store ? err.message : "no secret store configured");
      return -3;
    }
  }
  size_t len = strlen(value);
  int32_t rc = len + 1 > size ? -2 : (int32_t)len;
  if (rc >= 0) memcpy(buf, value, len + 1);
  explicit_bzero(value, len);
  free(value);
  return rc;
}

static int32_t host_secret_store(struct sidecal_host_instance *hi, const char *key,
                                 const char *value) {
  if (!hi || !hi->inst || !key || !value) return -1;
  struct sc_plugin_instance *in = hi->inst;
  struct sc_error err;
  if (in->secret_store && in->secret_store->store &&
      in->secret_store->store(in->secret_store->ud, in->name, key, value, &err)) {
    sc_log_warn("instance=%s secret=%s cannot be stored: %s", in->name, key, err.message);
    return -1;
  }
  int32_t rc = 0;
  pthread_mutex_lock(&in->lock);
  size_t i = 0;
  while (i < in->n_rotated && strcmp(in->rotated[i].name, key)) i++;
  char *copy = strdup(value);
  if (i == in->n_rotated) {
    struct sc_conf_secret *r = realloc(in->rotated, (i + 1) * sizeof *r);
    char *name = strdup(key);
    if (!r || !name || !copy) {
      if (r) in->rotated = r;
      free(name);
      free(copy);
      rc = -1;
    } else {
      in->rotated = r;
      r[i].name = name;
      r[i].ref = copy;
      in->n_rotated++;
    }
  } else if (copy) {
    free(in->rotated[i].ref);
    in->rotated[i].ref = copy;
  } else {
    rc = -1;
  }
  pthread_mutex_unlock(&in->lock);
  return rc;
}

static void host_counter_add(struct sidecal_host_instance *hi, const char *name,
                             uint64_t delta) {
  if (!hi || !hi->inst || !plugin_name_ok(name)) return;
  struct sc_plugin_instance *in = hi->inst;
  pthread_mutex_lock(&in->lock);
  size_t i = 0;
  while (i < in->n_counters && strcmp(in->counters[i].name, name)) i++;
  if (i == in->n_counters) {
    struct sc_plugin_counter *c = realloc(in->counters, (i + 1) * sizeof *c);
    char *n = strdup(name);
    if (c) in->counters = c;
    if (c && n) {
      c[i].name = n;
      c[i].value = 0;
      in->n_counters++;
    } else {
      free(n);
      i = SIZE_MAX;
    }
  }
  if (i != SIZE_MAX) in->counters[i].value += delta;
  pthread_mutex_unlock(&in->lock);
}

struct http_holder {
  struct sc_http_response resp;
  struct sidecal_http_header *headers;
};

static int32_t host_http(const struct sidecal_call_ctx *ctx,
                         const struct sidecal_http_request *req,
                         struct sidecal_http_response *resp, struct sidecal_result *res) {
  memset(resp, 0, sizeof *resp);
  resp->struct_size = sizeof *resp;
  if (!req || !req->method || !req->url)
    return sidecal_error(res, "http_request: method and url are required");
  long timeout = req->timeout_ms ? (long)req->timeout_ms : 30000;
  if (ctx && ctx->deadline_ms) {
    long left = (long)(ctx->deadline_ms - sc_plugin_monotonic_ms());
    if (left <= 0) return sidecal_retry(res, 0, "http_request: the call's deadline has passed");
    if (left < timeout) timeout = left;
  }
  struct sc_http_header *hdrs = calloc(req->n_headers + 1, sizeof *hdrs);
  struct http_holder *h = calloc(1, sizeof *h);
  if (!h || !hdrs) {
    free(h);
    free(hdrs);
    return sidecal_retry(res, 0, "out of memory");
  }
  for (uint32_t i = 0; i < req->n_headers; i++) {
    hdrs[i].name = req->headers[i].name;
    hdrs[i].value = req->headers[i].value;
  }
  struct sc_http_request r = {
    .method = req->method, .url = req->url, .headers = hdrs, .n_headers = req->n_headers,
    .body = req->body, .body_len = (size_t)req->body_len, .timeout_ms = timeout,
    .cancel = ctx ? ctx->cancel : NULL,
  };
  struct sc_error err;
  int rc = sc_http_request(&r, &h->resp, &err);
  free(hdrs);
  if (rc) {
    int retry = rc == SC_EIO && h->resp.retryable;
    free(h);
    return retry ? sidecal_retry(res, 0, err.message) : sidecal_error(res, err.message);
  }
  h->headers = calloc(h->resp.n_headers + 1, sizeof *h->headers);
  if (!h->headers) {
    sc_http_response_free(&h->resp);
    free(h);
    return sidecal_retry(res, 0, "out of memory");
  }
  for (size_t i = 0; i < h->resp.n_headers; i++) {
    h->headers[i].name = h->resp.headers[i].name;
    h->headers[i].value = h->resp.headers[i].value;
  }
  resp->status = (uint32_t)h->resp.status;
  resp->headers = h->headers;
  resp->n_headers = (uint32_t)h->resp.n_headers;
  resp->body = h->resp.body;
  resp->body_len = h->resp.body_len;
  resp->host_private = h;
  return sidecal_ok(res);
}

static void host_http_free(struct sidecal_http_response *resp) {
  if (!resp || !resp->host_private) return;
  struct http_holder *h = resp->host_private;
  sc_http_response_free(&h->resp);
  free(h->headers);
  free(h);
  memset(resp, 0, sizeof *resp);
}

static const struct sidecal_host_api host_api = {
  .struct_size = sizeof(struct sidecal_host_api),
  .abi_major = SIDECAL_ABI_MAJOR,
  .abi_minor = SIDECAL_ABI_MINOR,
  .log = host_log,
  .now_utc_ms = now_utc_ms,
  .monotonic_ms = sc_plugin_monotonic_ms,
  .setting_string = sc_setting_string,
  .setting_int = sc_setting_int,
  .setting_bool = sc_setting_bool,
  .setting_list_len = sc_setting_list_len,
  .setting_list_item = sc_setting_list_item,
  .setting_map_len = sc_setting_map_len,
  .setting_map_key = sc_setting_map_key,
  .setting_map_value = sc_setting_map_value,
  .secret_read = host_secret_read,
  .secret_store_rotated = host_secret_store,
  .counter_add = host_counter_add,
  .http_request = host_http,
  .http_response_free = host_http_free,
};

const struct sidecal_host_api *sc_plugin_host_api(void) { return &host_api; }

/* ---- instances ------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_secrets(struct sc_conf_secret *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(s[i].name);
    if (s[i].ref) explicit_bzero(s[i].ref, strlen(s[i].ref));
    free(s[i].ref);
  }
  free(s);
}

static void instance_free(struct sc_plugin_instance *in) {
  free(in->name);
  free(in->organization);
  free(in->location);
  free(in->staff);
  sc_plugin_settings_free(in->settings);
  free_secrets(in->secrets, in->n_secrets);
  free_secrets(in->rotated, in->n_rotated);
  for (size_t i = 0; i < in->n_counters; i++) free(in->counters[i].name);
  free(in->counters);
  pthread_mutex_destroy(&in->lock);
  free(in);
}

static const int32_t never_cancelled = 0;

int sc_plugin_instance_create(struct sc_plugin *p, const struct sc_plugin_instance_spec *spec,
                              struct sidecal_settings *settings,
                              struct sc_plugin_instance **out, struct sc_error *err) {
  struct sc_plugin_instance *in = calloc(1, sizeof *in);
  if (!in) {
    sc_plugin_settings_free(settings);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  pthread_mutex_init(&in->lock, NULL);
  in->hi.inst = in;
  in->plugin = p;
  in->settings = settings;
  in->name = strdup(spec->name ? spec->name : p->name);
  in->organization = strdup(spec->organization ? spec->organization : "");
  in->location = dup_or_null(spec->location);
  in->staff = dup_or_null(spec->staff);
  in->secret_store = spec->secret_store;
  in->cancel = spec->cancel ? spec->cancel : &never_cancelled;
  int oom = !in->name || !in->organization || (spec->location && !in->location) ||
            (spec->staff && !in->staff);
  if (spec->n_secrets && !oom) {
    in->secrets = calloc(spec->n_secrets, sizeof *in->secrets);
    oom = !in->secrets;
    for (size_t i = 0; !oom && i < spec->n_secrets; i++) {
      in->secrets[i].name = strdup(spec->secrets[i].name);
      in->secrets[i].ref = strdup(spec->secrets[i].ref);
      in->n_secrets++;
      oom = !in->secrets[i].name || !in->secrets[i].ref;
    }
  }
  if (oom) {
    instance_free(in);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  struct sc_plugin_call call;
  sc_plugin_call_init(in, &call, "instance-create", sc_plugin_monotonic_ms() + 30000);
  int32_t code = p->desc.instance_create(&call.ctx, settings, &in->state, &call.res);
  if (code != SIDECAL_OK) {
    call.res.message[sizeof call.res.message - 1] = '\0';
    sc_error_set(err, SC_EIO, in->name, "%s: create failed: %s", in->name,
                 call.res.message[0] ? call.res.message : "(no message)");
    instance_free(in);
    return SC_EIO;
  }
  *out = in;
  return SC_OK;
}

void sc_plugin_instance_destroy(struct sc_plugin_instance *inst) {
  if (!inst) return;
  inst->plugin->desc.instance_destroy(inst->state);
  instance_free(inst);
}

void sc_plugin_call_init(struct sc_plugin_instance *inst, struct sc_plugin_call *call,
                         const char *request_id, int64_t deadline_ms) {
  memset(call, 0, sizeof *call);
  call->ctx.struct_size = sizeof call->ctx;
  call->ctx.organization = inst->organization;
  call->ctx.location = inst->location;
  call->ctx.staff = inst->staff;
  call->ctx.instance = inst->name;
  call->ctx.request_id = request_id ? request_id : "-";
  call->ctx.deadline_ms = deadline_ms;
  call->ctx.cancel = inst->cancel;
  call->ctx.host_instance = &inst->hi;
  call->res.struct_size = sizeof call->res;
}

void sc_plugin_instance_record(struct sc_plugin_instance *inst,
                               const struct sidecal_result *res) {
  pthread_mutex_lock(&inst->lock);
  inst->calls++;
  inst->last_code = res->code;
  if (res->code == SIDECAL_OK) {
    inst->last_error[0] = '\0';
  } else {
    inst->failures++;
    safe_copy(inst->last_error, sizeof inst->last_error, res->message);
  }
  pthread_mutex_unlock(&inst->lock);
}

int32_t sc_plugin_instance_health(struct sc_plugin_instance *inst, char *buf, size_t size) {
  pthread_mutex_lock(&inst->lock);
  int32_t code = inst->last_code;
  if (buf && size) snprintf(buf, size, "%s", inst->last_error);
  pthread_mutex_unlock(&inst->lock);
  return code;
}

uint64_t sc_plugin_instance_counter(struct sc_plugin_instance *inst, const char *name) {
  uint64_t v = 0;
  pthread_mutex_lock(&inst->lock);
  for (size_t i = 0; i < inst->n_counters; i++)
    if (!strcmp(inst->counters[i].name, name)) v = inst->counters[i].value;
  pthread_mutex_unlock(&inst->lock);
  return v;
}
