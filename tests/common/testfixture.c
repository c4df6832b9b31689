/* The shared HTTP test world (see testfixture.h). */
#include "testfixture.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <signal.h>
#include <string.h>

const char *const sc_world_role_names[K_COUNT] = {
  "platform_admin", "agency_owner", "location_staff(miami)", "location_staff(austin,bob)",
  "staff(ann)", "foreign agency_owner"};

static const char *ACME =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Miami\n"
    "    timezone: America/New_York\n"
    "    rules:\n"
    "      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
    "  - slug: austin\n"
    "    name: Austin\n"
    "    timezone: America/Chicago\n"
    "    rules:\n"
    "      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
    "staff:\n"
    "  - {slug: ann, name: Ann, locations: [miami]}\n"
    "  - {slug: bob, name: Bob, locations: [miami, austin]}\n"
    "  - {slug: cat, name: Cat, locations: [austin]}\n"
    "event_types:\n"
    "  - {slug: consult, title: Consultation, duration: 30, published: true, staff: [ann, bob, cat]}\n"
    "  - {slug: internal, title: Internal, duration: 60, staff: [ann]}\n";

static const char *GLOBEX =
    "organization: {slug: globex, name: Globex}\n"
    "locations:\n"
    "  - slug: paris\n"
    "    name: Paris\n"
    "    timezone: Europe/Paris\n"
    "    rules:\n"
    "      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
    "staff:\n"
    "  - {slug: dan, name: Dan, locations: [paris]}\n"
    "event_types:\n"
    "  - {slug: visit, title: Visit, duration: 60, published: true, staff: [dan]}\n";

static char *make_key(struct sc_world *w, const char *const *args) {
  char *out = NULL;
  int st = sc_test_ctl(&w->d, args, &out);
  if (st != 0) g_error("sidecalctl key create failed (%d)", st);
  char *nl = strchr(out, '\n');
  if (nl) *nl = '\0';
  return out;
}

void sc_world_start(struct sc_world *w) {
  const char *files[] = {"acme.yaml", ACME, "globex.yaml", GLOBEX, NULL};
  memset(w, 0, sizeof *w);
  sc_test_daemon_init(&w->d, files);
  sc_test_daemon_start(&w->d, NULL);
  const char *admin[] = {"key", "create", "--platform-admin", NULL};
  const char *owner[] = {"key", "create", "--org", "acme", "--role", "agency_owner", NULL};
  const char *locm[] = {"key", "create", "--org", "acme", "--role", "location_staff", "--location", "miami", NULL};
  const char *loca[] = {"key", "create", "--org", "acme", "--role", "location_staff", "--location", "austin",
                        "--staff", "bob", NULL};
  const char *ann[] = {"key", "create", "--org", "acme", "--role", "staff", "--staff", "ann", NULL};
  const char *glx[] = {"key", "create", "--org", "globex", "--role", "agency_owner", NULL};
  const char *const *all[K_COUNT] = {admin, owner, locm, loca, ann, glx};
  for (int i = 0; i < K_COUNT; i++) w->keys[i] = make_key(w, all[i]);
}

void sc_world_stop(struct sc_world *w) {
  if (w->d.pid) g_assert_cmpint(sc_test_daemon_signal_wait(&w->d, SIGTERM), ==, 0);
  for (int i = 0; i < K_COUNT; i++) g_free(w->keys[i]);
  sc_test_daemon_cleanup(&w->d);
}

long sc_world_req(struct sc_world *w, enum sc_test_role role, const char *method,
                  const char *body, char **resp_body, const char *path_fmt, ...) {
  va_list ap;
  va_start(ap, path_fmt);
  char *path = g_strdup_vprintf(path_fmt, ap);
  va_end(ap);
  struct sc_test_resp r;
  sc_test_http(&w->d, method, path, (int)role >= 0 ? w->keys[role] : NULL, NULL, body, &r);
  g_free(path);
  long st = r.status;
  if (resp_body) *resp_body = g_strdup(r.body);
  sc_test_resp_free(&r);
  return st;
}

char *sc_json_field(const char *body, const char *field) {
  json_object *o = json_tokener_parse(body), *v;
  char *out = NULL;
  if (o && json_object_object_get_ex(o, field, &v) && v) out = g_strdup(json_object_get_string(v));
  json_object_put(o);
  return out;
}

char *sc_world_appt(struct sc_world *w, const char *org, const char *location,
                    const char *staff, const char *starts_at, const char *ends_at) {
  char *body = g_strdup_printf("{\"location\":\"%s\",\"staff\":\"%s\",\"starts_at\":\"%s\","
                               "\"ends_at\":\"%s\",\"client_name\":\"Client\"}",
                               location, staff, starts_at, ends_at);
  char *resp = NULL;
  long st = strcmp(org, "globex")
                ? sc_world_req(w, K_OWNER, "POST", body, &resp, "/v1/appointments")
                : sc_world_req(w, K_GLOBEX, "POST", body, &resp, "/v1/appointments");
  if (st != 201) g_error("creating an appointment: %ld %s", st, resp);
  char *id = sc_json_field(resp, "id");
  g_free(resp);
  g_free(body);
  return id;
}
