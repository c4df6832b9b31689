/*
** A two-organization world for HTTP tests, started on a real sidecald:
**   acme: locations miami (America/New_York) and austin (America/Chicago);
**         staff ann (miami), bob (miami + austin), cat (austin);
**         event type consult (30 min, every 30, published) served by all three;
**         weekday rules 09:00-17:00 at both locations.
**   globex: location paris (Europe/Paris), staff dan, event type visit.
** and one API key per role (created with sidecalctl, as an admin would).
*/
#ifndef SC_TESTFIXTURE_H
#define SC_TESTFIXTURE_H

#include "testdaemon.h"

enum sc_test_role {
  K_ADMIN,          /* platform admin */
  K_OWNER,          /* acme agency_owner */
  K_LOC_MIAMI,      /* acme location_staff at miami */
  K_LOC_AUSTIN_BOB, /* acme location_staff at austin, staff bob */
  K_STAFF_ANN,      /* acme staff ann */
  K_GLOBEX,         /* globex agency_owner */
  K_COUNT
};

struct sc_world {
  struct sc_test_daemon d;
  char *keys[K_COUNT];
};

extern const char *const sc_world_role_names[K_COUNT];

void sc_world_start(struct sc_world *w);
void sc_world_stop(struct sc_world *w);

/* Request helper: formats the path, returns the status, keeps the body. */
long sc_world_req(struct sc_world *w, enum sc_test_role role, const char *method,
                  const char *body, char **resp_body, const char *path_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Creates an appointment as the owner (or admin ?org=globex for globex)
** and returns its id (g_free). */
char *sc_world_appt(struct sc_world *w, const char *org, const char *location,
                    const char *staff, const char *starts_at, const char *ends_at);

/* Value of a top-level string field of a JSON body (g_free), or NULL. */
char *sc_json_field(const char *body, const char *field);

#endif
