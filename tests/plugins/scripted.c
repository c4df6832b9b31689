/*
** Scriptable test connector for the sync engine tests ("scripted").
**
** A fake provider whose calendar is a JSON file (setting `state`), so a test
** and a daemon in another process see the same events:
**   {"seq": N, "events": {"<id>": {"id", "marker", "start", "end", "title",
**    "status", "etag", "modified", "seq", "deleted"}}, "calls": {"<op>": n}}
** Every change bumps seq; list_events' cursor is "seq:<n>" and reports what
** changed after it. The file is rewritten by rename (readers never see half
** a file) under an flock on "<state>.lock" (writers in several processes).
**
** Scripting (setting `control`, a JSON file): {"<op>": ["outcome", ...]}.
** Each call of op pops the first outcome; an empty or missing list means
** "ok". ops: create, update, delete, list, refresh, verify (verify calls
** are not counted in "calls"). Outcomes:
**   ok | 500 (RETRY) | 429:MS (RETRY after MS) | 401 (UNAUTHORIZED) |
**   410 (list: CURSOR_EXPIRED) | error (ERROR) | 500_after_write (do the
**   write, then answer RETRY) | delay:MS (sleep, then ok) | conflict |
**   hang_after_write:MS (do the write durably, then sleep MS: kill tests) |
**   delay_after:MS (do the work, release the state file, sleep MS, then
**   answer: a slow listing whose snapshot others change meanwhile) |
**   pace:MS (list: sleep MS after each event reported: a long listing
**   that keeps reporting progress)
** refresh succeeds by appending "+1" to the `token` secret.
**
** Webhooks: body {"route": "<key>", "changes": [{"op": "upsert", "id",
** "start", "end", "title", "status", "etag", "modified", "marker"} |
** {"op": "delete", "id"}]}; verify compares header x-test-signature with
** the `expected_signature` setting; instance_key is the `key` setting.
*/
#include <sidecal/connector.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const struct sidecal_host_api *host;

struct scripted {
  struct sidecal_host_instance *hi;
  char state[1024];
  char lock[1040];
  char control[1024];
  char key[128];
  char secret[128];
  long pace_ms;        /* the current list call's pace:MS, else 0 */
};

static const struct sidecal_setting_def settings[] = {
  {"state", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL,
   "JSON file holding the fake provider's events."},
  {"control", SIDECAL_SETTING_STRING, 0, "\"\"", "JSON file scripting outcomes per call."},
  {"key", SIDECAL_SETTING_STRING, 0, "\"\"", "Provider-side key for webhook routing."},
  {"expected_signature", SIDECAL_SETTING_STRING, 0, "\"\"", "Expected x-test-signature."},
  {"token", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, NULL, "Fake API token."},
};

/* ---- files -------------------------------------------------------------- */

static int lock_open(const struct scripted *s) {
  int fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) flock(fd, LOCK_EX);
  return fd;
}

static void lock_close(int fd) {
  if (fd >= 0) close(fd); /* releases the flock */
}

static json_object *read_json(const char *path) {
  json_object *o = *path ? json_object_from_file(path) : NULL;
  return o ? o : json_object_new_object();
}

static void write_json(const char *path, json_object *o) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
  json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PLAIN);
  rename(tmp, path);
}

static json_object *child(json_object *o, const char *key, json_type type) {
  json_object *v;
  if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type)) return v;
  v = type == json_type_array ? json_object_new_array() : json_object_new_object();
  json_object_object_add(o, key, v);
  return v;
}

static void count_call(json_object *st, const char *op) {
  json_object *calls = child(st, "calls", json_type_object), *n;
  int64_t c = json_object_object_get_ex(calls, op, &n) ? json_object_get_int64(n) : 0;
  json_object_object_add(calls, op, json_object_new_int64(c + 1));
}

/* Pops the next scripted outcome for op into out ("ok" when none). Caller
** holds the lock. */
static void next_outcome(const struct scripted *s, const char *op, char *out, size_t n) {
  snprintf(out, n, "ok");
  if (!*s->control) return;
  json_object *ctl = read_json(s->control), *list;
  if (json_object_object_get_ex(ctl, op, &list) && json_object_is_type(list, json_type_array) &&
      json_object_array_length(list) > 0) {
    snprintf(out, n, "%s", json_object_get_string(json_object_array_get_idx(list, 0)));
    json_object_array_del_idx(list, 0, 1);
    write_json(s->control, ctl);
  }
  json_object_put(ctl);
}

/* Applies an outcome that is not "do the work": returns -1 to go on. */
static int32_t outcome_result(const char *o, struct sidecal_result *res) {
  char msg[128];
  if (!strcmp(o, "ok") || !strcmp(o, "500_after_write") || !strncmp(o, "pace:", 5)) return -1;
  if (!strncmp(o, "delay:", 6)) {
    struct timespec ts = {atol(o + 6) / 1000, (atol(o + 6) % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return -1;
  }
  if (!strcmp(o, "500")) return sidecal_retry(res, 0, "HTTP 500 from provider");
  if (!strncmp(o, "429:", 4)) {
    snprintf(msg, sizeof msg, "HTTP 429 from provider (Retry-After %s ms)", o + 4);
    return sidecal_retry(res, (uint32_t)atol(o + 4), msg);
  }
  if (!strcmp(o, "401"))
    return sidecal_result_set(res, SIDECAL_UNAUTHORIZED, 0, "HTTP 401 from provider");
  if (!strcmp(o, "410"))
    return sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0, "HTTP 410: sync token expired");
  if (!strcmp(o, "conflict"))
    return sidecal_result_set(res, SIDECAL_CONFLICT, 0, "HTTP 412: etag mismatch");
  snprintf(msg, sizeof msg, "scripted error (%s)", o);
  return sidecal_error(res, msg);
}

/* ---- instances ---------------------------------------------------------- */

static void copy_setting(const struct sidecal_settings *st, const char *key, char *out,
                         size_t n) {
  const char *v = host->setting_string(st, key);
  snprintf(out, n, "%s", v ? v : "");
}

static int32_t create(const struct sidecal_call_ctx *ctx, const struct sidecal_settings *st,
                      void **instance, struct sidecal_result *res) {
  struct scripted *s = calloc(1, sizeof *s);
  if (!s) return sidecal_retry(res, 0, "out of memory");
  s->hi = ctx->host_instance;
  copy_setting(st, "state", s->state, sizeof s->state);
  copy_setting(st, "control", s->control, sizeof s->control);
  copy_setting(st, "key", s->key, sizeof s->key);
  copy_setting(st, "expected_signature", s->secret, sizeof s->secret);
  snprintf(s->lock, sizeof s->lock, "%s.lock", s->state);
  *instance = s;
  return sidecal_ok(res);
}

static void destroy(void *instance) { free(instance); }

/* ---- events ------------------------------------------------------------- */

static int64_t get_i(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static const char *get_s(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null)
             ? json_object_get_string(v) : NULL;
}

static int64_t bump_seq(json_object *st) {
  int64_t seq = get_i(st, "seq") + 1;
  json_object_object_add(st, "seq", json_object_new_int64(seq));
  return seq;
}

/* Stores ev under id with a fresh etag and seq; etag_out gets the etag. */
static void store_event(json_object *st, const char *id, const struct sidecal_event *ev,
                        char *etag_out, size_t n) {
  json_object *events = child(st, "events", json_type_object), *e = json_object_new_object();
  int64_t seq = bump_seq(st);
  snprintf(etag_out, n, "v%lld", (long long)seq);
  json_object_object_add(e, "id", json_object_new_string(id));
  if (SIDECAL_EVENT_HAS(ev, marker) && ev->marker)
    json_object_object_add(e, "marker", json_object_new_string(ev->marker));
  json_object_object_add(e, "start", json_object_new_int64(ev->start_utc));
  json_object_object_add(e, "end", json_object_new_int64(ev->end_utc));
  json_object_object_add(e, "title", json_object_new_string(ev->title ? ev->title : ""));
  json_object_object_add(e, "status", json_object_new_int64(ev->status));
  json_object_object_add(e, "etag", json_object_new_string(etag_out));
  json_object_object_add(e, "modified", json_object_new_int64(host->now_utc_ms() / 1000));
  json_object_object_add(e, "seq", json_object_new_int64(seq));
  json_object_object_add(events, id, e);
}

static void to_event(json_object *e, struct sidecal_event *ev) {
  *ev = (struct sidecal_event){
    .struct_size = sizeof *ev, .status = (uint32_t)get_i(e, "status"),
    .external_id = get_s(e, "id"), .etag = get_s(e, "etag"), .start_utc = get_i(e, "start"),
    .end_utc = get_i(e, "end"), .title = get_s(e, "title"),
    .last_modified_utc = get_i(e, "modified"), .marker = get_s(e, "marker"),
  };
  if (!ev->status) ev->status = SIDECAL_EVENT_CONFIRMED;
}

/* Runs op under the lock: counts the call, pops the outcome, and calls work
** unless the outcome answers by itself. */
typedef int32_t (*work_fn)(struct scripted *s, json_object *st, void *arg,
                           struct sidecal_result *res);

static int32_t scripted_op(struct scripted *s, const char *op, work_fn work, void *arg,
                           struct sidecal_result *res) {
  int fd = lock_open(s);
  json_object *st = read_json(s->state);
  char o[64];
  count_call(st, op);
  next_outcome(s, op, o, sizeof o);
  int hang = !strncmp(o, "hang_after_write:", 17), late = !strncmp(o, "delay_after:", 12);
  if (hang || late) {
    /* The work is durable, then the call takes its time: a process killed
    ** during a hang leaves a provider-side event the host never heard of;
    ** a late answer lets others change the provider after our snapshot. */
    int32_t rc = work(s, st, arg, res);
    write_json(s->state, st);
    json_object_put(st);
    lock_close(fd);
    long ms = atol(o + (hang ? 17 : 12));
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return rc == SIDECAL_OK && hang ? sidecal_retry(res, 0, "timed out after the write") : rc;
  }
  s->pace_ms = !strncmp(o, "pace:", 5) ? atol(o + 5) : 0;
  int32_t rc = outcome_result(o, res);
  if (rc < 0) {
    rc = work(s, st, arg, res);
    if (rc == SIDECAL_OK && !strcmp(o, "500_after_write"))
      rc = sidecal_retry(res, 0, "HTTP 500 from provider (after the write took effect)");
  }
  write_json(s->state, st);
  json_object_put(st);
  lock_close(fd);
  return rc;
}

struct write_arg {
  const char *id;
  const char *if_match;
  const struct sidecal_event *ev;
  struct sidecal_write_result *out;
};

static int32_t do_create(struct scripted *s, json_object *st, void *arg,
                         struct sidecal_result *res) {
  (void)s;
  struct write_arg *a = arg;
  char id[64];
  snprintf(id, sizeof id, "ev%lld", (long long)get_i(st, "seq") + 1);
  store_event(st, id, a->ev, a->out->etag, sizeof a->out->etag);
  snprintf(a->out->external_id, sizeof a->out->external_id, "%s", id);
  return sidecal_ok(res);
}

static json_object *live_event(json_object *st, const char *id) {
  json_object *e;
  if (!json_object_object_get_ex(child(st, "events", json_type_object), id, &e)) return NULL;
  json_object *d;
  if (json_object_object_get_ex(e, "deleted", &d) && json_object_get_boolean(d)) return NULL;
  return e;
}

static int32_t do_update(struct scripted *s, json_object *st, void *arg,
                         struct sidecal_result *res) {
  (void)s;
  struct write_arg *a = arg;
  json_object *e = live_event(st, a->id);
  if (!e) return sidecal_error(res, "HTTP 404: no such event");
  if (a->if_match && *a->if_match && strcmp(a->if_match, get_s(e, "etag")))
    return sidecal_result_set(res, SIDECAL_CONFLICT, 0, "HTTP 412: etag mismatch");
  store_event(st, a->id, a->ev, a->out->etag, sizeof a->out->etag);
  snprintf(a->out->external_id, sizeof a->out->external_id, "%s", a->id);
  return sidecal_ok(res);
}

static int32_t do_delete(struct scripted *s, json_object *st, void *arg,
                         struct sidecal_result *res) {
  (void)s;
  struct write_arg *a = arg;
  json_object *e = live_event(st, a->id);
  if (!e) return sidecal_ok(res); /* already gone: deleting is idempotent */
  json_object_object_add(e, "deleted", json_object_new_boolean(1));
  json_object_object_add(e, "seq", json_object_new_int64(bump_seq(st)));
  return sidecal_ok(res);
}

static int32_t create_event(void *instance, const struct sidecal_call_ctx *ctx,
                            const struct sidecal_event *ev, struct sidecal_write_result *out,
                            struct sidecal_result *res) {
  (void)ctx;
  struct write_arg a = {NULL, NULL, ev, out};
  return scripted_op(instance, "create", do_create, &a, res);
}

static int32_t update_event(void *instance, const struct sidecal_call_ctx *ctx,
                            const char *external_id, const char *if_match,
                            const struct sidecal_event *ev, struct sidecal_write_result *out,
                            struct sidecal_result *res) {
  (void)ctx;
  struct write_arg a = {external_id, if_match, ev, out};
  return scripted_op(instance, "update", do_update, &a, res);
}

static int32_t delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                            const char *external_id, const char *if_match,
                            struct sidecal_result *res) {
  (void)ctx;
  struct write_arg a = {external_id, if_match, NULL, NULL};
  return scripted_op(instance, "delete", do_delete, &a, res);
}

struct list_arg {
  const struct sidecal_window *w;
  const char *cursor;
  const struct sidecal_sink *sink;
};

static int32_t do_list(struct scripted *s, json_object *st, void *arg,
                       struct sidecal_result *res) {
  struct list_arg *a = arg;
  struct timespec pace = {s->pace_ms / 1000, (s->pace_ms % 1000) * 1000000L};
  int64_t since = a->cursor ? atoll(a->cursor + (strncmp(a->cursor, "seq:", 4) ? 0 : 4)) : -1;
  json_object_object_foreach(child(st, "events", json_type_object), id, e) {
    json_object *d;
    int deleted = json_object_object_get_ex(e, "deleted", &d) && json_object_get_boolean(d);
    if (since >= 0 && get_i(e, "seq") <= since) continue;
    if (deleted) {
      if (since >= 0 && a->sink->deleted(a->sink, id)) break;
      continue;
    }
    if (get_i(e, "end") <= a->w->start_utc || get_i(e, "start") >= a->w->end_utc) continue;
    struct sidecal_event ev;
    to_event(e, &ev);
    if (a->sink->event(a->sink, &ev)) break;
    if (s->pace_ms) nanosleep(&pace, NULL);
  }
  char cur[64];
  snprintf(cur, sizeof cur, "seq:%lld", (long long)get_i(st, "seq"));
  a->sink->cursor(a->sink, cur);
  return sidecal_ok(res);
}

static int32_t list_events(void *instance, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_window *window, const char *cursor,
                           const struct sidecal_sink *sink, struct sidecal_result *res) {
  (void)ctx;
  struct list_arg a = {window, cursor, sink};
  return scripted_op(instance, "list", do_list, &a, res);
}

/* ---- webhooks ----------------------------------------------------------- */

static json_object *parse_body(const struct sidecal_webhook *wh) {
  json_object *o = json_tokener_parse(wh->body);
  if (o && !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    o = NULL;
  }
  return o;
}

static int32_t webhook_route(const struct sidecal_call_ctx *ctx, const struct sidecal_webhook *wh,
                             char *key, size_t key_size, struct sidecal_result *res) {
  (void)ctx;
  json_object *o = parse_body(wh);
  const char *r = o ? get_s(o, "route") : NULL;
  int32_t rc = r ? sidecal_ok(res) : sidecal_error(res, "no \"route\" in the delivery");
  if (r) snprintf(key, key_size, "%s", r);
  json_object_put(o);
  return rc;
}

static int32_t instance_key(void *instance, char *key, size_t key_size) {
  struct scripted *s = instance;
  snprintf(key, key_size, "%s", s->key);
  return *s->key ? SIDECAL_OK : SIDECAL_ERROR;
}

static int32_t webhook_verify(void *instance, const struct sidecal_call_ctx *ctx,
                              const struct sidecal_webhook *wh, struct sidecal_result *res) {
  (void)ctx;
  struct scripted *s = instance;
  const char *sig = NULL;
  for (uint32_t i = 0; i < wh->n_headers; i++)
    if (!strcmp(wh->headers[i].name, "x-test-signature")) sig = wh->headers[i].value;
  if (!sig || strcmp(sig, s->secret)) return sidecal_error(res, "bad x-test-signature");
  /* Scriptable, but not counted: verify runs on every delivery and must
  ** not serialize intake benchmarks on the state file. */
  char o[64] = "ok";
  if (*s->control && access(s->control, F_OK) == 0) {
    int fd = lock_open(s);
    next_outcome(s, "verify", o, sizeof o);
    lock_close(fd);
  }
  int32_t rc = outcome_result(o, res);
  return rc < 0 ? sidecal_ok(res) : rc;
}

static int32_t webhook_parse(void *instance, const struct sidecal_call_ctx *ctx,
                             const struct sidecal_webhook *wh, const struct sidecal_sink *sink,
                             struct sidecal_result *res) {
  (void)instance, (void)ctx;
  json_object *o = parse_body(wh), *changes;
  if (!o || !json_object_object_get_ex(o, "changes", &changes) ||
      !json_object_is_type(changes, json_type_array)) {
    json_object_put(o);
    return sidecal_error(res, "delivery has no \"changes\" array");
  }
  for (size_t i = 0; i < json_object_array_length(changes); i++) {
    json_object *c = json_object_array_get_idx(changes, i);
    const char *op = get_s(c, "op"), *id = get_s(c, "id");
    if (!op || !id) continue;
    if (!strcmp(op, "delete")) {
      sink->deleted(sink, id);
      continue;
    }
    struct sidecal_event ev;
    to_event(c, &ev);
    sink->event(sink, &ev);
  }
  json_object_put(o);
  return sidecal_ok(res);
}

/* ---- credentials -------------------------------------------------------- */

static int32_t do_refresh(struct scripted *s, json_object *st, void *arg,
                          struct sidecal_result *res) {
  (void)st, (void)arg;
  char tok[256], next[300];
  if (host->secret_read(s->hi, "token", tok, sizeof tok) < 0)
    return sidecal_error(res, "token is not readable");
  snprintf(next, sizeof next, "%s+1", tok);
  if (host->secret_store_rotated(s->hi, "token", next))
    return sidecal_retry(res, 1000, "could not store the rotated token");
  return sidecal_ok(res);
}

static int32_t refresh(void *instance, const struct sidecal_call_ctx *ctx,
                       struct sidecal_result *res) {
  (void)ctx;
  return scripted_op(instance, "refresh", do_refresh, NULL, res);
}

static const struct sidecal_connector descriptor = {
  SIDECAL_CONNECTOR_STAMP,
  .name = "scripted",
  .version = "1.0.0",
  .description = "Scriptable fake provider for sync engine tests",
  .capabilities = SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | SIDECAL_CAP_WEBHOOKS |
                  SIDECAL_CAP_CREDENTIAL_REFRESH,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .instance_create = create,
  .instance_destroy = destroy,
  .list_events = list_events,
  .create_event = create_event,
  .update_event = update_event,
  .delete_event = delete_event,
  .webhook_route = webhook_route,
  .instance_key = instance_key,
  .webhook_verify = webhook_verify,
  .webhook_parse = webhook_parse,
  .refresh_credentials = refresh,
};

const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  host = h;
  return &descriptor;
}
