/*
** Runs the real sidecald binary for integration tests: a fresh database, a
** keyring and a config directory of the test's own, port 0 (the daemon
** logs the port it bound), and an HTTP client over libcurl.
*/
#ifndef SC_TESTDAEMON_H
#define SC_TESTDAEMON_H

#include <sys/types.h>

#include "testdb.h"

struct sc_test_daemon {
  struct sc_test_db db;
  char *dir;        /* temp dir: conf.d/, keyring, log */
  char *conf_dir;
  char *keyring;
  char *log_path;
  pid_t pid;
  int port;
  int shared;       /* a second daemon on another's database and dirs */
};

/* Creates db + dirs and writes each (name, yaml) pair into conf.d/.
** files is NULL-terminated: {"acme.yaml", "...yaml...", NULL}. */
void sc_test_daemon_init(struct sc_test_daemon *d, const char *const *files);
/* Starts sidecald and waits until it serves (g_error on failure). extra
** arguments are appended (NULL-terminated, may be NULL). */
void sc_test_daemon_start(struct sc_test_daemon *d, const char *const *extra);
/* Sends sig and waits for exit; returns the exit status (or 128+signal). */
int sc_test_daemon_signal_wait(struct sc_test_daemon *d, int sig);
/* A second daemon on the same database, config and keyring as src (which
** keeps owning them); start it with sc_test_daemon_start. */
void sc_test_daemon_share(const struct sc_test_daemon *src, struct sc_test_daemon *d);
/* Stops (if running), drops the database, removes the temp dir. */
void sc_test_daemon_cleanup(struct sc_test_daemon *d);
/* The daemon's log so far (g_free). */
char *sc_test_daemon_log(const struct sc_test_daemon *d);

struct sc_test_resp {
  long status;
  char *body;      /* g_free */
  char *headers;   /* raw response headers (g_free) */
};

/* One request. key may be NULL (no Authorization); body may be NULL;
** content_type NULL means application/json when a body is given. */
void sc_test_http(const struct sc_test_daemon *d, const char *method, const char *path,
                  const char *key, const char *content_type, const char *body,
                  struct sc_test_resp *resp);
/* The same with one extra request header ("Name: value"). */
void sc_test_http_hdr(const struct sc_test_daemon *d, const char *method, const char *path,
                      const char *key, const char *header, const char *body,
                      struct sc_test_resp *resp);
void sc_test_resp_free(struct sc_test_resp *resp);

/* Runs build/core/sidecalctl with the daemon's database and keyring;
** returns its exit status and captures stdout (g_free, may be NULL). */
int sc_test_ctl(const struct sc_test_daemon *d, const char *const *args, char **out);

#endif
