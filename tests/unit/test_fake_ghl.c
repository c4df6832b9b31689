/*
** Contract tests of the GHL fake (tests/fakes/ghl): what it enforces is what
** plugins/ghl is tested against, so each rule the fake claims is checked
** here: 401 without / with a wrong / with an expired token, 400 without
** Version, refresh with rotation and reuse refused, CRUD and the window
** listing, contact upsert and read, injected 429 (with and without Retry-After),
** 5xx and 500-after-write, the rate budget with X-RateLimit-* headers, and
** webhook deliveries whose x-wh-signature verifies with the public key.
*/
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "../fakes/ghl/ghl_fake.h"

static struct ghl_fake *fake;

static const char *hdr(const struct sc_http_response *r, const char *name) {
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strcmp(r->headers[i].name, name)) return r->headers[i].value;
  return NULL;
}

/* A request with a valid token and the calendar Version. */
static long call(const char *method, const char *path, const char *body, struct sc_http_response *r) {
  char *token = ghl_fake_token(fake);
  gchar *auth = g_strdup_printf("Bearer %s", token);
  const char *version = g_str_has_prefix(path, "/contacts") ? "2021-07-28" : "2021-04-15";
  const char *h[] = {"Authorization", auth, "Version", version, "Content-Type", "application/json", NULL};
  long st = ghl_fake_raw(fake, method, path, h, body, r);
  g_free(auth);
  g_free(token);
  return st;
}

static const char *field(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void reset(void) {
  ghl_fake_do(fake, "/_fake/reset", "{}");
  ghl_fake_do(fake, "/_fake/config", "{\"rate_max\": 100, \"rate_window_ms\": 10000, "
                                     "\"contacts_enabled\": true, \"contact_shape\": \"nested\", "
                                     "\"token_lifetime_s\": 86399}");
}

static void test_auth(void) {
  reset();
  struct sc_http_response r;
  const char *none[] = {"Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", "/calendars/events?locationId=l&calendarId=c&startTime=0&endTime=1",
                               none, NULL, &r), ==, 401);
  g_assert_cmpstr(r.body, ==, "{\"statusCode\":401,\"message\":\"Invalid token: access token is invalid\","
                              "\"error\":\"Unauthorized\"}");
  sc_http_response_free(&r);
  const char *wrong[] = {"Authorization", "Bearer nope", "Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", "/calendars/events?locationId=l&calendarId=c&startTime=0&endTime=1",
                               wrong, NULL, &r), ==, 401);
  sc_http_response_free(&r);

  /* Without Version: 400, whatever the token. */
  char *token = ghl_fake_token(fake);
  gchar *auth = g_strdup_printf("Bearer %s", token);
  const char *nov[] = {"Authorization", auth, NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", "/calendars/events?locationId=l&calendarId=c&startTime=0&endTime=1",
                               nov, NULL, &r), ==, 400);
  g_assert_cmpstr(r.body, ==, "{\"statusCode\":400,\"message\":\"version header was not found\","
                              "\"error\":\"Bad Request\"}");
  sc_http_response_free(&r);
  /* Contacts want their own Version. */
  const char *calv[] = {"Authorization", auth, "Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "POST", "/contacts/upsert", calv, "{\"locationId\":\"l\",\"email\":\"a@b.c\"}",
                               &r), ==, 400);
  sc_http_response_free(&r);
  /* An expired token: 401 with the JWT message. */
  ghl_fake_do(fake, "/_fake/expire", "{}");
  const char *ok[] = {"Authorization", auth, "Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", "/calendars/events?locationId=l&calendarId=c&startTime=0&endTime=1",
                               ok, NULL, &r), ==, 401);
  g_assert_nonnull(strstr(r.body, "token expired"));
  sc_http_response_free(&r);
  g_free(auth);
  g_free(token);
}

static long refresh(const char *rt, const char *secret, struct sc_http_response *r) {
  gchar *form = g_strdup_printf("client_id=test-client&client_secret=%s&grant_type=refresh_token"
                                "&refresh_token=%s&user_type=Location", secret, rt);
  const char *h[] = {"Content-Type", "application/x-www-form-urlencoded", NULL};
  long st = ghl_fake_raw(fake, "POST", "/oauth/token", h, form, r);
  g_free(form);
  return st;
}

static void test_refresh_rotation(void) {
  reset();
  ghl_fake_do(fake, "/_fake/config", "{\"refresh_token\": \"rt-start\"}");
  struct sc_http_response r;
  g_assert_cmpint(refresh("rt-start", "wrong", &r), ==, 401);
  sc_http_response_free(&r);
  g_assert_cmpint(refresh("rt-start", "test-secret", &r), ==, 200);
  json_object *o = json_tokener_parse(r.body);
  sc_http_response_free(&r);
  const char *next = field(o, "refresh_token");
  g_assert_nonnull(next);
  g_assert_cmpstr(next, !=, "rt-start");
  g_assert_cmpstr(field(o, "token_type"), ==, "Bearer");
  /* The new access token works. */
  gchar *auth = g_strdup_printf("Bearer %s", field(o, "access_token"));
  const char *h[] = {"Authorization", auth, "Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", "/calendars/events?locationId=l&calendarId=c&startTime=0&endTime=1",
                               h, NULL, &r), ==, 200);
  sc_http_response_free(&r);
  /* The old refresh token was consumed. */
  g_assert_cmpint(refresh("rt-start", "test-secret", &r), ==, 400);
  g_assert_nonnull(strstr(r.body, "invalid_grant"));
  sc_http_response_free(&r);
  g_assert_cmpint(refresh(next, "test-secret", &r), ==, 200);
  sc_http_response_free(&r);
  g_free(auth);
  json_object_put(o);
}

static void test_crud_and_window(void) {
  reset();
  struct sc_http_response r;
  /* contactId is required on create. */
  g_assert_cmpint(call("POST", "/calendars/events/appointments",
                       "{\"calendarId\":\"c1\",\"locationId\":\"l1\",\"startTime\":\"2026-03-02T10:00:00+01:00\"}",
                       &r), ==, 422);
  g_assert_nonnull(strstr(r.body, "contactId should not be empty"));
  sc_http_response_free(&r);
  g_assert_cmpint(call("POST", "/calendars/events/appointments",
                       "{\"calendarId\":\"c1\",\"locationId\":\"l1\",\"contactId\":\"k1\","
                       "\"startTime\":\"2026-03-02T10:00:00+01:00\",\"endTime\":\"2026-03-02T11:00:00+01:00\","
                       "\"appointmentStatus\":\"confirmed\"}", &r), ==, 200);
  json_object *a = json_tokener_parse(r.body);
  sc_http_response_free(&r);
  gchar *id = g_strdup(field(a, "id"));
  json_object_put(a);
  /* 2026-03-02T09:00Z .. 10:00Z; windows in epoch ms. */
  g_assert_cmpint(call("GET", "/calendars/events?locationId=l1&calendarId=c1&startTime=1772442000000"
                              "&endTime=1772445600000", NULL, &r), ==, 200);
  g_assert_nonnull(strstr(r.body, id));
  sc_http_response_free(&r);
  g_assert_cmpint(call("GET", "/calendars/events?locationId=l1&calendarId=c1&startTime=1772445600000"
                              "&endTime=1772449200000", NULL, &r), ==, 200);
  g_assert_cmpstr(r.body, ==, "{\"events\":[]}");
  sc_http_response_free(&r);
  /* Exactly one selector. */
  g_assert_cmpint(call("GET", "/calendars/events?locationId=l1&startTime=0&endTime=1", NULL, &r), ==, 422);
  sc_http_response_free(&r);
  gchar *path = g_strdup_printf("/calendars/events/appointments/%s", id);
  g_assert_cmpint(call("PUT", path, "{\"title\":\"moved\",\"appointmentStatus\":\"showed\"}", &r), ==, 200);
  g_assert_nonnull(strstr(r.body, "\"title\":\"moved\""));
  sc_http_response_free(&r);
  g_assert_cmpint(call("PUT", path, "{\"appointmentStatus\":\"rescheduled\"}", &r), ==, 422);
  sc_http_response_free(&r);
  g_free(path);
  path = g_strdup_printf("/calendars/events/%s", id);
  g_assert_cmpint(call("DELETE", path, "{}", &r), ==, 201);
  g_assert_cmpstr(r.body, ==, "{\"succeeded\":true}");
  sc_http_response_free(&r);
  g_assert_cmpint(call("DELETE", path, "{}", &r), ==, 404);
  sc_http_response_free(&r);
  g_free(path);
  g_free(id);
}

static void test_contacts(void) {
  reset();
  struct sc_http_response r;
  g_assert_cmpint(call("POST", "/contacts/upsert", "{\"locationId\":\"l1\",\"email\":\"ana@example.com\"}", &r),
                  ==, 200);
  json_object *o = json_tokener_parse(r.body), *c;
  sc_http_response_free(&r);
  g_assert_true(json_object_object_get_ex(o, "contact", &c));
  gchar *id = g_strdup(field(c, "id"));
  g_assert_cmpstr(field(o, "new"), ==, "true");
  json_object_put(o);
  /* The same email again is the same contact; the flat shape is a switch. */
  ghl_fake_do(fake, "/_fake/config", "{\"contact_shape\": \"flat\"}");
  g_assert_cmpint(call("POST", "/contacts/upsert", "{\"locationId\":\"l1\",\"email\":\"ana@example.com\","
                                                   "\"phone\":\"+15550001\"}", &r), ==, 200);
  o = json_tokener_parse(r.body);
  sc_http_response_free(&r);
  g_assert_cmpstr(field(o, "id"), ==, id);
  g_assert_cmpstr(field(o, "new"), ==, "false");
  json_object_put(o);
  /* Reading it back: {"contact":{...}}, the contacts Version only, 404 for
  ** an unknown id, and counted in its location's budget. */
  gchar *path = g_strdup_printf("/contacts/%s", id);
  g_assert_cmpint(call("GET", path, NULL, &r), ==, 200);
  o = json_tokener_parse(r.body);
  g_assert_true(json_object_object_get_ex(o, "contact", &c));
  g_assert_cmpstr(field(c, "email"), ==, "ana@example.com");
  g_assert_cmpstr(field(c, "phone"), ==, "+15550001");
  g_assert_cmpint(atoi(hdr(&r, "x-ratelimit-remaining")), ==, 97);  /* l1's third request */
  json_object_put(o);
  sc_http_response_free(&r);
  char *token = ghl_fake_token(fake);
  gchar *auth = g_strdup_printf("Bearer %s", token);
  const char *calv[] = {"Authorization", auth, "Version", "2021-04-15", NULL};
  g_assert_cmpint(ghl_fake_raw(fake, "GET", path, calv, NULL, &r), ==, 400);
  sc_http_response_free(&r);
  g_assert_cmpint(call("GET", "/contacts/nobody", NULL, &r), ==, 404);
  sc_http_response_free(&r);
  ghl_fake_do(fake, "/_fake/config", "{\"contacts_enabled\": false}");
  g_assert_cmpint(call("POST", "/contacts/upsert", "{\"locationId\":\"l1\",\"email\":\"x@example.com\"}", &r),
                  ==, 404);
  sc_http_response_free(&r);
  g_free(id), g_free(path), g_free(auth), g_free(token);
}

static void test_faults(void) {
  reset();
  ghl_fake_do(fake, "/_fake/faults",
              "[{\"match\":\"GET /calendars/events\",\"status\":429,\"retry_after\":\"3\",\"count\":1},"
              " {\"match\":\"GET /calendars/events\",\"status\":429,\"count\":1},"
              " {\"match\":\"GET /calendars/events\",\"status\":503,\"count\":1},"
              " {\"match\":\"POST /calendars/events/appointments\",\"status\":500,\"after_write\":true}]");
  struct sc_http_response r;
  const char *list = "/calendars/events?locationId=l1&calendarId=c1&startTime=0&endTime=1";
  g_assert_cmpint(call("GET", list, NULL, &r), ==, 429);
  g_assert_cmpstr(hdr(&r, "retry-after"), ==, "3");
  sc_http_response_free(&r);
  g_assert_cmpint(call("GET", list, NULL, &r), ==, 429);
  g_assert_null(hdr(&r, "retry-after"));
  g_assert_cmpstr(hdr(&r, "x-ratelimit-interval-milliseconds"), ==, "10000");
  sc_http_response_free(&r);
  g_assert_cmpint(call("GET", list, NULL, &r), ==, 503);
  sc_http_response_free(&r);
  g_assert_cmpint(call("GET", list, NULL, &r), ==, 200);
  sc_http_response_free(&r);
  /* 500 after the write took effect: the appointment exists. */
  g_assert_cmpint(call("POST", "/calendars/events/appointments",
                       "{\"calendarId\":\"c1\",\"locationId\":\"l1\",\"contactId\":\"k1\","
                       "\"startTime\":\"2026-03-02T10:00:00+01:00\"}", &r), ==, 500);
  sc_http_response_free(&r);
  json_object *st = ghl_fake_control(fake, "GET", "/_fake/state", NULL), *apps;
  json_object_object_get_ex(st, "appointments", &apps);
  g_assert_cmpuint(json_object_array_length(apps), ==, 1);
  json_object_put(st);
  g_assert_cmpint(ghl_fake_count(fake, "POST /calendars/events/appointments"), ==, 1);
}

static void test_rate_budget(void) {
  reset();
  ghl_fake_do(fake, "/_fake/config", "{\"rate_max\": 3, \"rate_window_ms\": 60000}");
  struct sc_http_response r;
  const char *list = "/calendars/events?locationId=lr&calendarId=c1&startTime=0&endTime=1";
  for (int i = 0; i < 3; i++) {
    g_assert_cmpint(call("GET", list, NULL, &r), ==, 200);
    g_assert_cmpstr(hdr(&r, "x-ratelimit-max"), ==, "3");
    g_assert_cmpint(atoi(hdr(&r, "x-ratelimit-remaining")), ==, 2 - i);
    sc_http_response_free(&r);
  }
  g_assert_cmpint(call("GET", list, NULL, &r), ==, 429);
  sc_http_response_free(&r);
  /* Another location has its own budget. */
  g_assert_cmpint(call("GET", "/calendars/events?locationId=other&calendarId=c1&startTime=0&endTime=1", NULL, &r),
                  ==, 200);
  sc_http_response_free(&r);
  int total = 0;
  g_assert_cmpint(ghl_fake_max_in_window(fake, 60000, &total), ==, 5);
  g_assert_cmpint(total, ==, 5);
}

static void test_webhook_signature(void) {
  reset();
  json_object *w = ghl_fake_control(fake, "POST", "/_fake/webhook",
                                    "{\"type\":\"AppointmentUpdate\",\"appointment\":{\"id\":\"a1\","
                                    "\"locationId\":\"l1\",\"dateUpdated\":\"2026-03-01T00:00:00Z\"}}");
  const char *body = field(w, "body"), *sig64 = field(w, "signature");
  json_object *parsed = json_tokener_parse(body);
  g_assert_cmpstr(field(parsed, "type"), ==, "AppointmentUpdate");
  g_assert_cmpstr(field(parsed, "locationId"), ==, "l1");
  g_assert_nonnull(field(parsed, "webhookId"));
  json_object_put(parsed);
  gchar *pem = NULL;
  g_assert_true(g_file_get_contents(fake->public_key_path, &pem, NULL, NULL));
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  g_assert_nonnull(key);
  gsize sig_len;
  guchar *sig = g_base64_decode(sig64, &sig_len);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), ==, 1);
  g_assert_cmpint(EVP_DigestVerify(md, sig, sig_len, (const guchar *)body, strlen(body)), ==, 1);
  /* One byte less is not what was signed. */
  g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), ==, 1);
  g_assert_cmpint(EVP_DigestVerify(md, sig, sig_len, (const guchar *)body, strlen(body) - 1), !=, 1);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  BIO_free(bio);
  g_free(sig);
  g_free(pem);

  /* deliver_to POSTs the same bytes with the signature header. */
  gchar *spec = g_strdup_printf("{\"type\":\"AppointmentDelete\",\"appointment\":{\"id\":\"a2\","
                                "\"locationId\":\"l1\"},\"deliver_to\":\"%s/_fake/inbox\"}", fake->base_url);
  json_object *d = ghl_fake_control(fake, "POST", "/_fake/webhook", spec);
  g_assert_cmpstr(field(d, "delivery_status"), ==, "200");
  json_object *inbox = ghl_fake_control(fake, "GET", "/_fake/inbox", NULL);
  g_assert_cmpuint(json_object_array_length(inbox), ==, 1);
  json_object *got = json_object_array_get_idx(inbox, 0);
  g_assert_cmpstr(field(got, "body"), ==, field(d, "body"));
  g_assert_cmpstr(field(got, "signature"), ==, field(d, "signature"));
  json_object_put(inbox);
  json_object_put(d);
  g_free(spec);
  json_object_put(w);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  fake = ghl_fake_start();
  g_test_add_func("/fake_ghl/auth", test_auth);
  g_test_add_func("/fake_ghl/refresh_rotation", test_refresh_rotation);
  g_test_add_func("/fake_ghl/crud_and_window", test_crud_and_window);
  g_test_add_func("/fake_ghl/contacts", test_contacts);
  g_test_add_func("/fake_ghl/faults", test_faults);
  g_test_add_func("/fake_ghl/rate_budget", test_rate_budget);
  g_test_add_func("/fake_ghl/webhook_signature", test_webhook_signature);
  int rc = g_test_run();
  ghl_fake_stop(fake);
  return rc;
}
