/*
** A real Radicale CalDAV server for tests: Debian's `radicale` started on
** 127.0.0.1 with a free port, a temporary storage folder, htpasswd users
** (plain encryption) and owner-only rights, stopped and removed afterwards.
**
** Contract: rad_start() returns 0 once the server accepts connections, 1
** when no radicale binary is installed (the caller skips), -1 with why set
** when it could not start (its log is included). rad_http() sends one
** request as a user with the core's HTTP client and returns the status
** (0 when no response), filling *resp when it is not NULL.
*/
#ifndef SC_TEST_RADICALE_H
#define SC_TEST_RADICALE_H

#include <glib.h>

#include "http_client.h"

struct rad_server {
  GPid pid;
  int port;
  char *dir;        /* temporary folder: config, users, collections, log */
  char *base_url;   /* "http://127.0.0.1:<port>/" */
};

/* users: "name:password" strings. */
int rad_start(struct rad_server *s, const char *const *users, size_t n_users, char *why,
              size_t why_size);
void rad_stop(struct rad_server *s);

struct rad_req {
  const char *method;
  const char *path;          /* "/alice/calendar/x.ics" */
  const char *user, *password;
  const char *content_type;  /* NULL: none */
  const char *depth;         /* NULL: none */
  const char *if_match;      /* NULL: none */
  const char *body;          /* NULL: none */
  long timeout_ms;           /* 0: 20 s */
};

long rad_http(const struct rad_server *s, const struct rad_req *r, struct sc_http_response *resp);

/* MKCALENDAR <path> with a display name; returns the status (201). */
long rad_mkcalendar(const struct rad_server *s, const char *user, const char *password,
                    const char *path, const char *displayname);

#endif
