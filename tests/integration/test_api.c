/* The HTTP API through the real daemon: the isolation matrix (every route ×
** every role × own organization, same organization out of scope, foreign
** organization), keys, and error handling for every appointment field. */
#include <glib.h>
#include <string.h>

#include "testfixture.h"

static struct sc_world W;

/* Appointments seen by the matrix, created once. */
enum { A_MIAMI_ANN, A_MIAMI_BOB, A_AUSTIN_CAT, A_GLOBEX, A_COUNT };
static char *appt[A_COUNT];

/* visible[role][appointment]: the design's data isolation rules. */
static const int visible[K_COUNT][A_COUNT] = {
  /*                       ann bob cat glx */
  [K_ADMIN] =             {1,  1,  1,  1},
  [K_OWNER] =             {1,  1,  1,  0},
  [K_LOC_MIAMI] =         {1,  1,  0,  0},  /* their location */
  [K_LOC_AUSTIN_BOB] =    {0,  1,  1,  0},  /* their location + their own */
  [K_STAFF_ANN] =         {1,  0,  0,  0},  /* their own */
  [K_GLOBEX] =            {0,  0,  0,  1},
};

static void setup_world(void) {
  sc_world_start(&W);
  appt[A_MIAMI_ANN] = sc_world_appt(&W, "acme", "miami", "ann", "2027-01-04T15:00:00Z", "2027-01-04T15:30:00Z");
  appt[A_MIAMI_BOB] = sc_world_appt(&W, "acme", "miami", "bob", "2027-01-04T16:00:00Z", "2027-01-04T16:30:00Z");
  appt[A_AUSTIN_CAT] = sc_world_appt(&W, "acme", "austin", "cat", "2027-01-04T17:00:00Z", "2027-01-04T17:30:00Z");
  appt[A_GLOBEX] = sc_world_appt(&W, "globex", "paris", "dan", "2027-01-04T09:00:00Z", "2027-01-04T10:00:00Z");
}

static void test_get_matrix(void) {
  for (int k = 0; k < K_COUNT; k++) {
    for (int a = 0; a < A_COUNT; a++) {
      char *body = NULL;
      long st = sc_world_req(&W, k, "GET", NULL, &body, "/v1/appointments/%s", appt[a]);
      if (st != (visible[k][a] ? 200 : 404))
        g_error("GET as %s of appointment %d: %ld %s", sc_world_role_names[k], a, st, body);
      if (!visible[k][a])
        g_assert_nonnull(strstr(body, "\"code\":\"not_found\""));
      g_free(body);
    }
  }
}

static void test_list_matrix(void) {
  for (int k = 0; k < K_COUNT; k++) {
    char *body = NULL;
    long st = sc_world_req(&W, k, "GET", NULL, &body, "/v1/appointments?limit=500");
    g_assert_cmpint(st, ==, 200);
    for (int a = 0; a < A_COUNT; a++)
      if ((strstr(body, appt[a]) != NULL) != visible[k][a])
        g_error("list as %s: appointment %d visible=%d", sc_world_role_names[k], a, !visible[k][a]);
    g_free(body);
  }
  /* A platform admin narrows to one organization with ?org=. */
  char *body = NULL;
  g_assert_cmpint(sc_world_req(&W, K_ADMIN, "GET", NULL, &body, "/v1/appointments?org=globex"), ==, 200);
  g_assert_nonnull(strstr(body, appt[A_GLOBEX]));
  g_assert_null(strstr(body, appt[A_MIAMI_ANN]));
  g_free(body);
  /* Anyone else naming an organization is refused. */
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "GET", NULL, &body, "/v1/appointments?org=globex"), ==, 422);
  g_assert_nonnull(strstr(body, "\"field\":\"org\""));
  g_free(body);
}

static void test_patch_matrix(void) {
  for (int k = 0; k < K_COUNT; k++) {
    for (int a = 0; a < A_COUNT; a++) {
      char *body = NULL;
      char *patch = g_strdup_printf("{\"notes\":\"touched by %d\"}", k);
      long st = sc_world_req(&W, k, "PATCH", patch, &body, "/v1/appointments/%s", appt[a]);
      if (st != (visible[k][a] ? 200 : 404))
        g_error("PATCH as %s of appointment %d: %ld %s", sc_world_role_names[k], a, st, body);
      g_free(body);
      g_free(patch);
    }
  }
  /* What the invisible PATCHes did: nothing. The last visible writer wins. */
  char *body = NULL;
  sc_world_req(&W, K_ADMIN, "GET", NULL, &body, "/v1/appointments/%s", appt[A_GLOBEX]);
  g_assert_nonnull(strstr(body, "\"notes\":\"touched by 5\""));
  g_free(body);
  sc_world_req(&W, K_ADMIN, "GET", NULL, &body, "/v1/appointments/%s", appt[A_AUSTIN_CAT]);
  g_assert_nonnull(strstr(body, "\"notes\":\"touched by 3\""));
  g_free(body);
}

/* Who may create what: own scope 201, anything else 422 naming the field. */
static void test_create_matrix(void) {
  struct { int role; const char *org; const char *loc; const char *staff; long want; const char *field; } c[] = {
    {K_OWNER, "", "miami", "ann", 201, NULL},
    {K_ADMIN, "", "miami", "ann", 422, "org"},
    {K_ADMIN, "?org=acme", "miami", "ann", 201, NULL},
    {K_LOC_MIAMI, "", "miami", "bob", 201, NULL},
    {K_LOC_MIAMI, "", "austin", "bob", 422, "location"},
    {K_LOC_AUSTIN_BOB, "", "austin", "cat", 201, NULL},
    {K_LOC_AUSTIN_BOB, "", "miami", "ann", 422, "location"},
    {K_STAFF_ANN, "", "miami", "ann", 201, NULL},
    {K_STAFF_ANN, "", "miami", "bob", 422, "staff"},
    {K_GLOBEX, "", "miami", "ann", 422, "location"},
    {K_GLOBEX, "", "paris", "dan", 201, NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
    /* Each case its own hour, so none collides with another. */
    char *body = g_strdup_printf("{\"location\":\"%s\",\"staff\":\"%s\",\"starts_at\":\"2027-02-01T%02zu:00:00Z\","
                                 "\"ends_at\":\"2027-02-01T%02zu:30:00Z\"}", c[i].loc, c[i].staff, i, i);
    char *resp = NULL;
    long st = sc_world_req(&W, c[i].role, "POST", body, &resp, "/v1/appointments%s", c[i].org);
    if (st != c[i].want) g_error("create case %zu: %ld %s", i, st, resp);
    if (c[i].field) {
      char *f = g_strdup_printf("\"field\":\"%s\"", c[i].field);
      g_assert_nonnull(strstr(resp, f));
      g_free(f);
    }
    g_free(resp);
    g_free(body);
  }
}

static void test_cancel_matrix(void) {
  /* Fresh appointments so other tests' state does not matter. */
  char *ids[A_COUNT];
  ids[A_MIAMI_ANN] = sc_world_appt(&W, "acme", "miami", "ann", "2027-03-01T15:00:00Z", "2027-03-01T15:30:00Z");
  ids[A_MIAMI_BOB] = sc_world_appt(&W, "acme", "miami", "bob", "2027-03-01T16:00:00Z", "2027-03-01T16:30:00Z");
  ids[A_AUSTIN_CAT] = sc_world_appt(&W, "acme", "austin", "cat", "2027-03-01T17:00:00Z", "2027-03-01T17:30:00Z");
  ids[A_GLOBEX] = sc_world_appt(&W, "globex", "paris", "dan", "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z");
  for (int k = K_COUNT - 1; k >= 0; k--) {
    for (int a = 0; a < A_COUNT; a++) {
      char *body = NULL;
      long st = sc_world_req(&W, k, "POST", "{\"reason\":\"matrix\"}", &body, "/v1/appointments/%s/cancel", ids[a]);
      if (st != (visible[k][a] ? 200 : 404))
        g_error("cancel as %s of appointment %d: %ld %s", sc_world_role_names[k], a, st, body);
      g_free(body);
    }
  }
  for (int a = 0; a < A_COUNT; a++) g_free(ids[a]);
}

static void test_availability_and_health_scope(void) {
  char *body = NULL;
  const char *q = "/v1/availability?location=%s&event_type=consult&from=2027-01-04&to=2027-01-04%s";
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "GET", NULL, &body, q, "austin", ""), ==, 200);
  g_free(body);
  g_assert_cmpint(sc_world_req(&W, K_LOC_MIAMI, "GET", NULL, &body, q, "austin", ""), ==, 422);
  g_assert_nonnull(strstr(body, "\"field\":\"location\""));
  g_free(body);
  g_assert_cmpint(sc_world_req(&W, K_STAFF_ANN, "GET", NULL, &body, q, "miami", "&staff=bob"), ==, 422);
  g_assert_nonnull(strstr(body, "\"field\":\"staff\""));
  g_free(body);
  /* A staff key sees only its own slots. */
  g_assert_cmpint(sc_world_req(&W, K_STAFF_ANN, "GET", NULL, &body, q, "miami", ""), ==, 200);
  g_assert_null(strstr(body, "\"bob\""));
  g_assert_nonnull(strstr(body, "\"ann\""));
  g_free(body);
  g_assert_cmpint(sc_world_req(&W, K_GLOBEX, "GET", NULL, &body, q, "miami", ""), ==, 422);
  g_free(body);
  /* Health: anonymous shows counts only, no tenant names. */
  g_assert_cmpint(sc_world_req(&W, -1, "GET", NULL, &body, "/health/calendar"), ==, 200);
  g_assert_null(strstr(body, "acme"));
  g_assert_null(strstr(body, "instances"));
  g_free(body);
  g_assert_cmpint(sc_world_req(&W, K_GLOBEX, "GET", NULL, &body, "/health/calendar"), ==, 200);
  g_assert_nonnull(strstr(body, "\"instances\":[]"));
  g_free(body);
  /* Metrics: platform admin only. */
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "GET", NULL, &body, "/metrics"), ==, 404);
  g_free(body);
  g_assert_cmpint(sc_world_req(&W, K_ADMIN, "GET", NULL, &body, "/metrics"), ==, 200);
  g_assert_nonnull(strstr(body, "sidecal_http_requests_total{route=\"/v1/appointments/{id}\""));
  g_free(body);
}

static void test_keys_over_http(void) {
  char *body = NULL;
  struct sc_test_resp r;
  sc_test_http(&W.d, "GET", "/v1/appointments", NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 401);
  g_assert_cmpstr(r.body, ==, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"missing Authorization header (expected: Authorization: Bearer KEY)\"}}");
  sc_test_resp_free(&r);
  sc_test_http(&W.d, "GET", "/v1/appointments", "sck_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 401);
  g_assert_null(strstr(r.body, "BBBB"));  /* never echoes the key */
  sc_test_resp_free(&r);
  /* Revoke a fresh key with the CLI (another process): the daemon hears NOTIFY. */
  const char *mk[] = {"key", "create", "--org", "acme", "--role", "agency_owner", "--label", "revoke-me", NULL};
  char *out = NULL;
  g_assert_cmpint(sc_test_ctl(&W.d, mk, &out), ==, 0);
  *strchr(out, '\n') = '\0';
  sc_test_http(&W.d, "GET", "/v1/appointments", out, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 200);
  sc_test_resp_free(&r);
  char *list = NULL;
  const char *ls[] = {"key", "list", "--org", "acme", NULL};
  g_assert_cmpint(sc_test_ctl(&W.d, ls, &list), ==, 0);
  char *line = strstr(list, "revoke-me");
  g_assert_nonnull(line);
  while (line > list && line[-1] != '\n') line--;
  char id[37];
  g_strlcpy(id, line, sizeof id);
  const char *rv[] = {"key", "revoke", id, NULL};
  g_assert_cmpint(sc_test_ctl(&W.d, rv, NULL), ==, 0);
  long st = 200;
  for (int i = 0; i < 100 && st == 200; i++) {  /* NOTIFY arrives within ms */
    sc_test_http(&W.d, "GET", "/v1/appointments", out, NULL, NULL, &r);
    st = r.status;
    if (st == 401) g_assert_nonnull(strstr(r.body, "revoked"));
    sc_test_resp_free(&r);
    if (st == 200) g_usleep(20 * 1000);
  }
  g_assert_cmpint(st, ==, 401);
  g_free(list);
  g_free(out);
  g_free(body);
}

/* ---- rules, overrides, blocks: the same matrix on /v1/{rules,...} ------- */

enum { S_MIAMI, S_MIAMI_ANN, S_AUSTIN, S_AUSTIN_BOB, S_GLOBEX, S_COUNT };
/* loc staff (austin, bob) also sees bob's rows; staff ann only hers. */
static const int sched_visible[K_COUNT][S_COUNT] = {
  /*                    mia ann aus bob glx */
  [K_ADMIN] =          {1,  1,  1,  1,  1},
  [K_OWNER] =          {1,  1,  1,  1,  0},
  [K_LOC_MIAMI] =      {1,  1,  0,  0,  0},
  [K_LOC_AUSTIN_BOB] = {0,  0,  1,  1,  0},
  [K_STAFF_ANN] =      {0,  1,  0,  0,  0},
  [K_GLOBEX] =         {0,  0,  0,  0,  1},
};

struct sched_kind {
  const char *route;
  const char *fmt;  /* body: location, staff (JSON), n for uniqueness */
  const char *patch;
};

static const struct sched_kind kinds[] = {
  {"/v1/rules", "{\"location\":\"%s\",\"staff\":%s,\"day_of_week\":6,\"start\":\"%02d:00\",\"end\":\"%02d:30\"}",
   "{\"end\":\"23:00\"}"},
  {"/v1/overrides", "{\"location\":\"%s\",\"staff\":%s,\"date\":\"2027-08-%02d\",\"intervals\":[],\"x\":%d}",
   "{\"intervals\":[{\"start\":\"09:00\",\"end\":\"10:00\"}]}"},
  {"/v1/blocks", "{\"location\":\"%s\",\"staff\":%s,\"start\":\"2027-08-%02dT12:00:00\",\"end\":\"2027-08-%02dT13:00:00\"}",
   "{\"reason\":\"matrix\"}"},
};

static char *sched_create(const struct sched_kind *k, int n, int role, const char *loc,
                          const char *staff) {
  char *body = g_strdup_printf(k->fmt, loc, staff, n, n);
  /* overrides have no "x": drop it, it only fed the format. */
  char *x = strstr(body, ",\"x\":");
  if (x) strcpy(x, "}");
  char *resp = NULL;
  long st = sc_world_req(&W, role, "POST", body, &resp, "%s", k->route);
  if (st != 201) g_error("create %s %s: %ld %s", k->route, body, st, resp);
  char *id = sc_json_field(resp, "id");
  g_free(resp);
  g_free(body);
  return id;
}

static void test_schedule_matrix(void) {
  for (size_t ki = 0; ki < G_N_ELEMENTS(kinds); ki++) {
    const struct sched_kind *k = &kinds[ki];
    char *ids[S_COUNT];
    ids[S_MIAMI] = sched_create(k, 1, K_OWNER, "miami", "null");
    ids[S_MIAMI_ANN] = sched_create(k, 2, K_OWNER, "miami", "\"ann\"");
    ids[S_AUSTIN] = sched_create(k, 3, K_OWNER, "austin", "null");
    ids[S_AUSTIN_BOB] = sched_create(k, 4, K_OWNER, "austin", "\"bob\"");
    ids[S_GLOBEX] = sched_create(k, 5, K_GLOBEX, "paris", "null");
    for (int r = 0; r < K_COUNT; r++) {
      char *list = NULL;
      g_assert_cmpint(sc_world_req(&W, r, "GET", NULL, &list, "%s?limit=500", k->route), ==, 200);
      for (int s2 = 0; s2 < S_COUNT; s2++) {
        char *body = NULL;
        long want = sched_visible[r][s2] ? 200 : 404;
        long st = sc_world_req(&W, r, "GET", NULL, &body, "%s/%s", k->route, ids[s2]);
        if (st != want) g_error("GET %s as %s row %d: %ld %s", k->route, sc_world_role_names[r], s2, st, body);
        g_free(body);
        st = sc_world_req(&W, r, "PATCH", k->patch, &body, "%s/%s", k->route, ids[s2]);
        if (st != want) g_error("PATCH %s as %s row %d: %ld %s", k->route, sc_world_role_names[r], s2, st, body);
        g_free(body);
        if ((strstr(list, ids[s2]) != NULL) != sched_visible[r][s2])
          g_error("list %s as %s row %d", k->route, sc_world_role_names[r], s2);
      }
      g_free(list);
    }
    /* DELETE: invisible rows answer 404 and survive; the owner removes its own. */
    for (int s2 = 0; s2 < S_COUNT; s2++) {
      g_assert_cmpint(sc_world_req(&W, K_STAFF_ANN, "DELETE", NULL, NULL, "%s/%s", k->route, ids[s2]), ==,
                      sched_visible[K_STAFF_ANN][s2] ? 204 : 404);
      if (!sched_visible[K_STAFF_ANN][s2])
        g_assert_cmpint(sc_world_req(&W, K_ADMIN, "GET", NULL, NULL, "%s/%s", k->route, ids[s2]), ==, 200);
    }
    g_assert_cmpint(sc_world_req(&W, K_OWNER, "DELETE", NULL, NULL, "%s/%s", k->route, ids[S_GLOBEX]), ==, 404);
    g_assert_cmpint(sc_world_req(&W, K_GLOBEX, "DELETE", NULL, NULL, "%s/%s", k->route, ids[S_GLOBEX]), ==, 204);
    for (int s2 = 0; s2 < S_COUNT; s2++) g_free(ids[s2]);
  }
}

/* POST on /v1/{rules,overrides,blocks}: each role inside its scope (201)
** and outside it (422 naming the field), for each kind. */
static void test_schedule_create_matrix(void) {
  struct { int role; const char *q; const char *loc; const char *staff; long want; const char *field; } c[] = {
    {K_OWNER, "", "miami", "\"ann\"", 201, NULL},
    {K_ADMIN, "", "miami", "null", 422, "org"},
    {K_ADMIN, "?org=acme", "miami", "null", 201, NULL},
    {K_LOC_MIAMI, "", "miami", "null", 201, NULL},
    {K_LOC_MIAMI, "", "austin", "null", 422, "location"},
    {K_LOC_AUSTIN_BOB, "", "austin", "\"bob\"", 201, NULL},
    {K_LOC_AUSTIN_BOB, "", "miami", "null", 422, "location"},
    {K_STAFF_ANN, "", "miami", "\"ann\"", 201, NULL},
    {K_STAFF_ANN, "", "miami", "\"bob\"", 422, "staff"},
    {K_GLOBEX, "", "miami", "null", 422, "location"},
  };
  for (size_t ki = 0; ki < G_N_ELEMENTS(kinds); ki++) {
    for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
      int n = 10 + (int)i;  /* distinct hours/dates per case */
      char *body = g_strdup_printf(kinds[ki].fmt, c[i].loc, c[i].staff, n, n);
      char *x = strstr(body, ",\"x\":");
      if (x) strcpy(x, "}");
      char *resp = NULL;
      long st = sc_world_req(&W, c[i].role, "POST", body, &resp, "%s%s", kinds[ki].route, c[i].q);
      if (st != c[i].want) g_error("%s case %zu: %ld %s", kinds[ki].route, i, st, resp);
      if (c[i].field) {
        char *f = g_strdup_printf("\"field\":\"%s\"", c[i].field);
        g_assert_nonnull(strstr(resp, f));
        g_free(f);
      }
      g_free(resp);
      g_free(body);
    }
  }
}

/* ---- error handling ------------------------------------------------------ */

struct bad_case {
  const char *method, *path, *content_type, *body;
  long status;
  const char *expect;  /* exact response body */
};

/* json-c writes "/" as "\/"; compare texts with that undone. */
static char *unslash(const char *s) {
  GString *g = g_string_new(NULL);
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == '/') continue;
    g_string_append_c(g, *s);
  }
  return g_string_free(g, FALSE);
}

static void run_bad(const struct bad_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct sc_test_resp r;
    char *path = strstr(c[i].path, "%s") ? g_strdup_printf(c[i].path, appt[A_MIAMI_ANN]) : g_strdup(c[i].path);
    sc_test_http(&W.d, c[i].method, path, W.keys[K_OWNER], c[i].content_type, c[i].body, &r);
    char *got = unslash(r.body), *want = unslash(c[i].expect);
    int same = !strcmp(got, want);
    g_free(got);
    g_free(want);
    if (r.status != c[i].status || !same)
      g_error("case %zu (%s %s %s): got %ld %s", i, c[i].method, path, c[i].body ? c[i].body : "",
              r.status, r.body);
    sc_test_resp_free(&r);
    g_free(path);
  }
}

#define E422(field, msg) "{\"error\":{\"code\":\"validation_failed\",\"message\":\"" msg "\",\"field\":\"" field "\"}}"
#define GOOD "\"location\":\"miami\",\"staff\":\"ann\",\"starts_at\":\"2027-05-03T14:00:00Z\",\"ends_at\":\"2027-05-03T14:30:00Z\""

static void test_appointment_errors(void) {
  char *count_before = NULL, *count_after = NULL;
  sc_world_req(&W, K_OWNER, "GET", NULL, &count_before, "/v1/appointments?limit=500");
  const struct bad_case c[] = {
    {"POST", "/v1/appointments", NULL, "{\"location\":", 400,
     "{\"error\":{\"code\":\"malformed_json\",\"message\":\"$: invalid JSON at byte 12\",\"field\":\"$\"}}"},
    {"POST", "/v1/appointments", NULL, "[1,2]", 422, E422("$", "$: expected a JSON object")},
    {"POST", "/v1/appointments", NULL, "{} x", 400,
     "{\"error\":{\"code\":\"malformed_json\",\"message\":\"$: invalid JSON at byte 3\",\"field\":\"$\"}}"},
    {"POST", "/v1/appointments", "text/plain", "{}", 415,
     "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"send the body as application\\/json\"}}"},
    {"POST", "/v1/appointments", NULL, "{}", 422, E422("location", "location: required (a location slug)")},
    {"POST", "/v1/appointments", NULL, "{\"location\":5}", 422, E422("location", "location: expected a string")},
    {"POST", "/v1/appointments", NULL, "{\"location\":\"nowhere\",\"starts_at\":\"2027-05-03T14:00:00Z\",\"ends_at\":\"2027-05-03T15:00:00Z\"}",
     422, E422("location", "location: no active location \\\"nowhere\\\"")},
    {"POST", "/v1/appointments", NULL, "{\"location\":\"miami\"}", 422, E422("starts_at", "starts_at: required")},
    {"POST", "/v1/appointments", NULL, "{\"location\":\"miami\",\"starts_at\":\"2027-05-03T14:00:00Z\"}", 422,
     E422("ends_at", "ends_at: required unless event_type gives the duration")},
    {"POST", "/v1/appointments", NULL, "{\"location\":\"miami\",\"starts_at\":\"2027-05-03T14:00:00\",\"ends_at\":\"2027-05-03T15:00:00Z\"}",
     422, E422("starts_at", "starts_at: expected an RFC 3339 timestamp with offset, e.g. 2026-03-09T14:00:00Z or 2026-03-09T09:00:00-05:00")},
    {"POST", "/v1/appointments", NULL, "{\"location\":\"miami\",\"starts_at\":\"2027-05-03T14:00:00Z\",\"ends_at\":\"2027-05-03T13:00:00Z\"}",
     422, E422("ends_at", "ends_at: must be after starts_at")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"timezone\":\"Mars/Base\"}", 422,
     E422("timezone", "timezone: unknown time zone \\\"Mars/Base\\\"")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"price\":\"12.345\"}", 422,
     E422("price", "price: expected a non-negative amount with at most 8 digits before the point and 2 after, e.g. \\\"120.00\\\"")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"price\":true}", 422,
     E422("price", "price: expected a decimal like \\\"120.00\\\"")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"all_day\":\"yes\"}", 422, E422("all_day", "all_day: expected true or false")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"metadata\":[]}", 422, E422("metadata", "metadata: expected a JSON object")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"client_email\":\"nope\"}", 422,
     E422("client_email", "client_email: expected an email address")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"status\":\"COMPLETED\"}", 422,
     E422("status", "status: a new appointment is SCHEDULED or CONFIRMED")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"staff\":\"zed\"}", 422,
     E422("staff", "staff: no active staff member \\\"zed\\\" at this location")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"event_type\":\"nope\"}", 422,
     E422("event_type", "event_type: no active event type \\\"nope\\\"")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"colour\":\"red\"}", 422,
     E422("colour", "colour: unknown field; valid fields: location, staff, event_type, starts_at, ends_at, timezone, all_day, status, price, metadata, client_id, client_name, client_email, client_phone, type, title, description, place, notes")},
    {"POST", "/v1/appointments", NULL, "{" GOOD ",\"title\":7}", 422, E422("title", "title: expected a string")},
    {"PATCH", "/v1/appointments/%s", NULL, "{\"location\":\"austin\"}", 422,
     E422("location", "location: unknown field; valid fields: staff, starts_at, ends_at, timezone, all_day, status, price, metadata, client_id, client_name, client_email, client_phone, type, title, description, place, notes")},
    {"PATCH", "/v1/appointments/%s", NULL, "{\"starts_at\":null}", 422, E422("starts_at", "starts_at: cannot be null")},
    {"PATCH", "/v1/appointments/%s", NULL, "{\"status\":\"BOGUS\"}", 422,
     E422("status", "unknown status \\\"BOGUS\\\"; expected one of SCHEDULED, CONFIRMED, RESCHEDULED, CANCELLED, NO_SHOW, COMPLETED, IN_PROGRESS")},
    {"PATCH", "/v1/appointments/not-a-uuid", NULL, "{}", 404,
     "{\"error\":{\"code\":\"not_found\",\"message\":\"no appointment not-a-uuid\",\"field\":\"id\"}}"},
    {"DELETE", "/v1/appointments/%s", NULL, NULL, 405,
     "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"DELETE is not allowed here; allowed: GET, PATCH\"}}"},
    {"GET", "/v1/nothing", NULL, NULL, 404,
     "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route: GET \\/v1\\/nothing\"}}"},
    {"GET", "/v1/appointments?limit=0", NULL, NULL, 422, E422("limit", "limit: expected a whole number from 1 to 500")},
    {"GET", "/v1/appointments?cursor=zzz", NULL, NULL, 422, E422("cursor", "cursor: not a cursor from this API")},
    {"GET", "/v1/appointments?from=yesterday", NULL, NULL, 422,
     E422("from", "from: expected an RFC 3339 timestamp with offset, e.g. 2026-03-09T14:00:00Z or 2026-03-09T09:00:00-05:00")},
    {"GET", "/v1/appointments?status=done", NULL, NULL, 422,
     E422("status", "unknown status \\\"done\\\"; expected one of SCHEDULED, CONFIRMED, RESCHEDULED, CANCELLED, NO_SHOW, COMPLETED, IN_PROGRESS")},
  };
  run_bad(c, G_N_ELEMENTS(c));
  /* Nothing was created or changed by any of them. */
  sc_world_req(&W, K_OWNER, "GET", NULL, &count_after, "/v1/appointments?limit=500");
  g_assert_cmpstr(count_before, ==, count_after);
  g_free(count_before);
  g_free(count_after);
}

static void test_oversized_body(void) {
  GString *big = g_string_new("{\"notes\":\"");
  while (big->len < 70 * 1024) g_string_append(big, "xxxxxxxxxxxxxxxx");
  g_string_append(big, "\"}");
  char *body = NULL;
  long st = sc_world_req(&W, K_OWNER, "POST", big->str, &body, "/v1/appointments");
  g_assert_cmpint(st, ==, 413);
  g_assert_cmpstr(body, ==, "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"request body exceeds 65536 bytes\"}}");
  g_free(body);
  g_string_free(big, TRUE);
}

static void test_status_transitions_and_if_match(void) {
  char *id = sc_world_appt(&W, "acme", "miami", "ann", "2027-06-07T15:00:00Z", "2027-06-07T15:30:00Z");
  char *body = NULL;
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "PATCH", "{\"status\":\"COMPLETED\"}", &body, "/v1/appointments/%s", id), ==, 422);
  g_assert_cmpstr(body, ==, E422("status", "status cannot change from SCHEDULED to COMPLETED"));
  g_free(body);
  /* A time change makes it RESCHEDULED and bumps the version. */
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "PATCH", "{\"starts_at\":\"2027-06-07T16:00:00Z\",\"ends_at\":\"2027-06-07T16:30:00Z\"}",
                               &body, "/v1/appointments/%s", id), ==, 200);
  g_assert_nonnull(strstr(body, "\"status\":\"RESCHEDULED\""));
  g_assert_nonnull(strstr(body, "\"version\":2"));
  g_free(body);
  /* A stale If-Match is 412 and changes nothing. */
  struct sc_test_resp r;
  char *path = g_strdup_printf("/v1/appointments/%s", id);
  sc_test_http(&W.d, "GET", path, W.keys[K_OWNER], NULL, NULL, &r);
  g_assert_nonnull(strstr(r.headers, "ETag: \"2\""));
  sc_test_resp_free(&r);
  sc_test_http_hdr(&W.d, "PATCH", path, W.keys[K_OWNER], "If-Match: \"1\"", "{\"notes\":\"late\"}", &r);
  g_assert_cmpint(r.status, ==, 412);
  g_assert_nonnull(strstr(r.body, "\"code\":\"precondition_failed\""));
  sc_test_resp_free(&r);
  sc_test_http_hdr(&W.d, "PATCH", path, W.keys[K_OWNER], "If-Match: \"2\"", "{\"notes\":\"fresh\"}", &r);
  g_assert_cmpint(r.status, ==, 200);
  g_assert_nonnull(strstr(r.body, "\"notes\":\"fresh\""));
  g_assert_nonnull(strstr(r.body, "\"version\":3"));
  sc_test_resp_free(&r);
  /* Forbidden transitions name both states; allowed ones stamp their time. */
  sc_test_http(&W.d, "PATCH", path, W.keys[K_OWNER], NULL, "{\"status\":\"CANCELLED\"}", &r);
  g_assert_cmpint(r.status, ==, 200);
  g_assert_null(strstr(r.body, "\"cancelled_at\":null"));
  sc_test_resp_free(&r);
  sc_test_http(&W.d, "PATCH", path, W.keys[K_OWNER], NULL, "{\"status\":\"CONFIRMED\"}", &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_nonnull(strstr(r.body, "status cannot change from CANCELLED to CONFIRMED"));
  sc_test_resp_free(&r);
  g_free(path);
  g_free(id);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  setup_world();
  g_test_add_func("/api/isolation/get", test_get_matrix);
  g_test_add_func("/api/isolation/list", test_list_matrix);
  g_test_add_func("/api/isolation/patch", test_patch_matrix);
  g_test_add_func("/api/isolation/create", test_create_matrix);
  g_test_add_func("/api/isolation/cancel", test_cancel_matrix);
  g_test_add_func("/api/isolation/availability_health_metrics", test_availability_and_health_scope);
  g_test_add_func("/api/isolation/schedule", test_schedule_matrix);
  g_test_add_func("/api/isolation/schedule_create", test_schedule_create_matrix);
  g_test_add_func("/api/keys", test_keys_over_http);
  g_test_add_func("/api/errors/appointments", test_appointment_errors);
  g_test_add_func("/api/errors/oversized", test_oversized_body);
  g_test_add_func("/api/status_and_if_match", test_status_transitions_and_if_match);
  int rc = g_test_run();
  sc_world_stop(&W);
  for (int a = 0; a < A_COUNT; a++) g_free(appt[a]);
  return rc;
}
