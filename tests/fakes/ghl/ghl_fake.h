/*
** Test-side handle of the GHL fake (fake_ghl.py): starts it on 127.0.0.1
** with a random port and its own RSA key pair, talks to its API and its
** /_fake/ control endpoints, and stops it. For tests only: failures are
** g_assert failures.
*/
#ifndef GHL_FAKE_H
#define GHL_FAKE_H

#include <glib.h>
#include <json-c/json.h>
#include <stdint.h>

#include "http_client.h"

struct ghl_fake {
  GPid pid;
  int stdin_fd;               /* closing it stops the fake */
  int port;
  char *base_url;             /* http://127.0.0.1:<port> */
  char *keydir;
  char *public_key_path;      /* PEM of the webhook signing key */
};

struct ghl_fake *ghl_fake_start(void);
void ghl_fake_stop(struct ghl_fake *f);

/* One raw request; headers as NULL-terminated name, value pairs. Returns
** the status; *resp is filled (free with sc_http_response_free). */
long ghl_fake_raw(struct ghl_fake *f, const char *method, const char *path,
                  const char *const *headers, const char *body,
                  struct sc_http_response *resp);
/* A control call (/_fake/...) that must answer 200; the parsed answer. */
json_object *ghl_fake_control(struct ghl_fake *f, const char *method, const char *path,
                              const char *body);
/* Control call whose answer is dropped. */
void ghl_fake_do(struct ghl_fake *f, const char *path, const char *body);
/* A fresh access token straight from the fake (contract tests). */
char *ghl_fake_token(struct ghl_fake *f);
/* Most API requests the fake received within any window_ms, and the total. */
int ghl_fake_max_in_window(struct ghl_fake *f, int64_t window_ms, int *total);
/* Number of API requests logged whose "METHOD path" starts with prefix. */
int ghl_fake_count(struct ghl_fake *f, const char *prefix);

#endif
