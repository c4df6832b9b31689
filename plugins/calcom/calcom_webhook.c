/*
** calcom_webhook: Cal.com webhook deliveries at the instance's own URL.
** verify: X-Cal-Signature-256 is the lower-case hex HMAC-SHA256 of the raw
** body keyed with the webhook secret (OpenSSL; constant-time compare).
** parse: BOOKING_CREATED / _REQUESTED / _RESCHEDULED / _CANCELLED /
** _REJECTED carry the booking; BOOKING_NO_SHOW_UPDATED only its uid, so
** the booking is fetched. Every booking must name this instance's tenant in
** its metadata. Other triggers are acknowledged and ignored.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "calcom.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SIG_HEADER "x-cal-signature-256"
#define UNSIGNED_VALUE "no-secret-provided"

static const char *header(const struct sidecal_webhook *wh, const char *name) {
  for (uint32_t i = 0; i < wh->n_headers; i++)
    if (!strcmp(wh->headers[i].name, name)) return wh->headers[i].value;
  return NULL;
}

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1; /* Cal.com sends lower case only */
}

/* 64 lower-case hex digits into 32 bytes; -1 when it is not that. */
static int unhex(const char *s, unsigned char out[32]) {
  if (strlen(s) != 64) return -1;
  for (int i = 0; i < 32; i++) {
    int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

int32_t cc_webhook_verify(void *instance, const struct sidecal_call_ctx *ctx,
                          const struct sidecal_webhook *wh, struct sidecal_result *res) {
  const struct cc *c = instance;
  char secret[1024];
  int32_t n = cc_host->secret_read(ctx->host_instance, "webhook_secret", secret, sizeof secret);
  const char *sig = header(wh, SIG_HEADER);
  if (n == -1 || n == 0) {
    if (c->accept_unsigned) return sidecal_ok(res);
    return sidecal_error(res, "no webhook_secret is configured, so deliveries cannot be verified: "
                              "set the Cal.com webhook's secret as webhook_secret");
  }
  int32_t rc;
  unsigned char want[EVP_MAX_MD_SIZE], got[32];
  unsigned int want_len = 0;
  if (n < 0) {
    rc = sidecal_error(res, "webhook_secret cannot be read");
  } else if (!sig) {
    rc = sidecal_error(res, "delivery has no X-Cal-Signature-256 header");
  } else if (!strcmp(sig, UNSIGNED_VALUE)) {
    rc = sidecal_error(res, "delivery is unsigned (X-Cal-Signature-256: no-secret-provided) but "
                            "this instance has a webhook_secret: set the same secret on the "
                            "Cal.com webhook");
  } else if (unhex(sig, got)) {
    rc = sidecal_error(res, "X-Cal-Signature-256 is not 64 lower-case hex digits");
  } else if (!HMAC(EVP_sha256(), secret, n, (const unsigned char *)wh->body, (size_t)wh->body_len,
                   want, &want_len) || want_len != sizeof got) {
    rc = sidecal_error(res, "cannot compute HMAC-SHA256");
  } else if (CRYPTO_memcmp(want, got, sizeof got) != 0) {
    rc = sidecal_error(res, "X-Cal-Signature-256 does not match the body: wrong webhook_secret, "
                            "or the body was changed on the way");
  } else {
    rc = sidecal_ok(res);
  }
  explicit_bzero(secret, sizeof secret);
  OPENSSL_cleanse(want, sizeof want);
  return rc;
}

static int is_booking_trigger(const char *t) {
  static const char *const names[] = {"BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED",
                                      "BOOKING_CANCELLED", "BOOKING_REJECTED"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(t, names[i])) return 1;
  return 0;
}

static int32_t parse_booking(const struct cc *c, const struct sidecal_call_ctx *ctx,
                             const char *trigger, json_object *payload, int64_t created,
                             const struct sidecal_sink *sink, struct sidecal_result *res) {
  const char *uid = cc_str(payload, "uid");
  int rescheduled = !strcmp(trigger, "BOOKING_RESCHEDULED");
  char inherited[512] = "";
  if (rescheduled ? cc_booking_tenant(c, ctx, payload, inherited, sizeof inherited, res)
                  : cc_tenant_check(c, json_object_object_get(payload, "metadata"), uid, res))
    return res->code;
  if (rescheduled && !cc_str(payload, "rescheduleUid"))
    return cc_fail(res, SIDECAL_ERROR, 0, "BOOKING_RESCHEDULED for %s has no rescheduleUid: cannot tell "
                   "which booking it replaces", uid ? uid : "(no uid)");
  struct cc_event e;
  if (cc_booking_event(c, payload, created, &e, res) != SIDECAL_OK) return res->code;
  if (!rescheduled) e.ev.replaces_external_id = NULL;
  if (!e.ev.marker && *inherited) e.ev.marker = inherited;
  if (!strcmp(trigger, "BOOKING_CANCELLED") || !strcmp(trigger, "BOOKING_REJECTED"))
    e.ev.status = SIDECAL_EVENT_CANCELLED;
  sink->event(sink, &e.ev);
  return sidecal_ok(res);
}

/* The payload names the booking and who did (not) show; the rest comes
** from the API, which also gives us the metadata to check. */
static int32_t parse_no_show(const struct cc *c, const struct sidecal_call_ctx *ctx,
                             json_object *payload, const struct sidecal_sink *sink,
                             struct sidecal_result *res) {
  const char *uid = cc_str(payload, "bookingUid");
  if (!uid) return sidecal_error(res, "BOOKING_NO_SHOW_UPDATED without bookingUid");
  int no_show = 0;
  json_object *arr = NULL, *flag = NULL;
  if (json_object_object_get_ex(payload, "attendees", &arr) && json_object_is_type(arr, json_type_array))
    for (size_t i = 0; i < json_object_array_length(arr); i++)
      if (json_object_object_get_ex(json_object_array_get_idx(arr, i), "noShow", &flag) &&
          json_object_get_boolean(flag))
        no_show = 1;
  struct cc_resp r;
  if (cc_get_booking(c, ctx, uid, &r, res) != SIDECAL_OK) {
    cc_resp_free(&r);
    return res->code;
  }
  json_object *metadata = NULL;
  json_object_object_get_ex(r.data, "metadata", &metadata);
  int32_t rc = cc_tenant_check(c, metadata, uid, res);
  struct cc_event e;
  if (rc == SIDECAL_OK) rc = cc_booking_event(c, r.data, 0, &e, res);
  if (rc == SIDECAL_OK) {
    e.ev.appointment_status = no_show ? "NO_SHOW" : NULL;
    sink->event(sink, &e.ev);
  }
  cc_resp_free(&r);
  return rc;
}

int32_t cc_webhook_parse(void *instance, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_webhook *wh, const struct sidecal_sink *sink,
                         struct sidecal_result *res) {
  const struct cc *c = instance;
  struct json_tokener *tok = json_tokener_new();
  json_object *root = json_tokener_parse_ex(tok, wh->body, (int)wh->body_len);
  int ok = json_tokener_get_error(tok) == json_tokener_success &&
           json_object_is_type(root, json_type_object);
  json_tokener_free(tok);
  json_object *payload = NULL;
  const char *trigger = ok ? cc_str(root, "triggerEvent") : NULL;
  int32_t rc;
  if (!ok)
    rc = sidecal_error(res, "delivery body is not a JSON object (is a custom payload template set "
                            "on the Cal.com webhook? it must be off)");
  else if (!trigger || !json_object_object_get_ex(root, "payload", &payload) ||
           !json_object_is_type(payload, json_type_object))
    rc = sidecal_error(res, "delivery has no triggerEvent and payload (is a custom payload template "
                            "set on the Cal.com webhook? it must be off)");
  else if (is_booking_trigger(trigger)) {
    int64_t created = 0;
    cc_parse_time(cc_str(root, "createdAt"), &created, NULL);
    rc = parse_booking(c, ctx, trigger, payload, created, sink, res);
  } else if (!strcmp(trigger, "BOOKING_NO_SHOW_UPDATED")) {
    rc = parse_no_show(c, ctx, payload, sink, res);
  } else {
    cc_host->log(ctx->host_instance, SIDECAL_LOG_INFO, "request=%s ignoring Cal.com trigger %s",
                 ctx->request_id, trigger);
    cc_host->counter_add(ctx->host_instance, "webhooks_ignored", 1);
    rc = sidecal_ok(res);
  }
  if (rc == SIDECAL_ERROR)
    cc_host->log(ctx->host_instance, SIDECAL_LOG_WARN, "request=%s delivery refused: %s",
                 ctx->request_id, res->message);
  json_object_put(root);
  return rc;
}
