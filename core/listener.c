/*
** The LISTEN thread (see listener.h).
*/
#include "listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

struct sc_listener {
  char *url;
  struct sc_listener_handlers h;
  pthread_t thread;
  atomic_int stop;
  PGconn *conn;
};

static PGconn *connect_listen(const char *url, struct sc_error *err) {
  PGconn *c;
  if (sc_db_connect_owner(url, &c, err)) return NULL;
  if (sc_db_run(c, "LISTEN sidecal_avail; LISTEN sidecal_catalog; LISTEN sidecal_auth;"
                   " LISTEN sidecal_reload; LISTEN sidecal_jobs", err)) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

static void drain(struct sc_listener *l) {
  int catalog = 0, auth = 0, reload = 0, jobs = 0;
  PGnotify *n;
  while ((n = PQnotifies(l->conn))) {
    if (!strcmp(n->relname, "sidecal_avail") && l->h.on_avail) l->h.on_avail(l->h.ud, n->extra);
    catalog |= !strcmp(n->relname, "sidecal_catalog");
    auth |= !strcmp(n->relname, "sidecal_auth");
    reload |= !strcmp(n->relname, "sidecal_reload");
    jobs |= !strcmp(n->relname, "sidecal_jobs");
    PQfreemem(n);
  }
  if (catalog && l->h.on_catalog) l->h.on_catalog(l->h.ud);
  if (auth && l->h.on_auth) l->h.on_auth(l->h.ud);
  if (reload && l->h.on_reload) l->h.on_reload(l->h.ud);
  if (jobs && l->h.on_jobs) l->h.on_jobs(l->h.ud);
}

static void reconnect(struct sc_listener *l) {
  PQfinish(l->conn);
  l->conn = NULL;
  while (!atomic_load(&l->stop)) {
    struct sc_error err;
    l->conn = connect_listen(l->url, &err);
    if (l->conn) {
      sc_log_warn("event=listener_reconnected");
      if (l->h.on_reconnect) l->h.on_reconnect(l->h.ud);
      return;
    }
    sc_log_warn("event=listener_down error=\"%s\"", err.message);
    for (int i = 0; i < 10 && !atomic_load(&l->stop); i++) usleep(100 * 1000);
  }
}

static void *run(void *arg) {
  struct sc_listener *l = arg;
  while (!atomic_load(&l->stop)) {
    if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
      reconnect(l);
      continue;
    }
    struct pollfd p = {.fd = PQsocket(l->conn), .events = POLLIN};
    /* A short timeout bounds how long stop waits. */
    int ready = poll(&p, 1, 200);
    if (ready < 0) continue;
    if (ready > 0 && !PQconsumeInput(l->conn)) {
      reconnect(l);
      continue;
    }
    drain(l);
  }
  return NULL;
}

int sc_listener_start(const char *url, const struct sc_listener_handlers *h,
                      struct sc_listener **out, struct sc_error *err) {
  struct sc_listener *l = calloc(1, sizeof *l);
  l->url = strdup(url);
  l->h = *h;
  l->conn = connect_listen(url, err);
  if (!l->conn) {
    free(l->url);
    free(l);
    return err ? err->code : SC_EDB;
  }
  if (pthread_create(&l->thread, NULL, run, l) != 0) {
    PQfinish(l->conn);
    free(l->url);
    free(l);
    return sc_error_set(err, SC_EINTERNAL, NULL, "cannot start the listener thread");
  }
  *out = l;
  return SC_OK;
}

void sc_listener_stop(struct sc_listener *l) {
  if (!l) return;
  atomic_store(&l->stop, 1);
  pthread_join(l->thread, NULL);
  PQfinish(l->conn);
  free(l->url);
  free(l);
}
