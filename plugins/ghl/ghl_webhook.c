/*
** GHL webhooks at the app-wide URL: routing by locationId, the
** x-wh-signature check (base64 RSA-SHA256, PKCS#1 v1.5, over the raw body,
** with the configured public key, through OpenSSL EVP), and parsing
** AppointmentCreate / AppointmentUpdate / AppointmentDelete.
*/
#include "ghl.h"
#include "ghl_dedupe.h"

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#define PEM_MAX 16384

static const char *header_of(const struct sidecal_webhook *wh, const char *name) {
  return ghl_header(wh->headers, wh->n_headers, name);
}

/* The body as a JSON object; NULL for anything else (including a body
** that was cut short: json-c refuses an unfinished document). */
static json_object *body_json(const struct sidecal_webhook *wh) {
  if (!wh->body || !wh->body_len) return NULL;
  json_tokener *tok = json_tokener_new();
  json_object *o = json_tokener_parse_ex(tok, wh->body, (int)wh->body_len);
  int complete = json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == wh->body_len;
  json_tokener_free(tok);
  if (o && complete && json_object_is_type(o, json_type_object)) return o;
  json_object_put(o);
  return NULL;
}

static const char *str_of(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v) : NULL;
}

static int handled_type(const char *type) {
  return type && (!strcmp(type, "AppointmentCreate") || !strcmp(type, "AppointmentUpdate") ||
                  !strcmp(type, "AppointmentDelete"));
}

static int32_t unhandled(const char *type, struct sidecal_result *res) {
  char msg[SIDECAL_MESSAGE_MAX];
  snprintf(msg, sizeof msg, "GHL webhook type \"%.100s\" is not handled (only Appointment"
           "Create, AppointmentUpdate, AppointmentDelete)", type ? type : "");
  return sidecal_error(res, msg);
}

/* The app-wide URL also receives every other event type the app subscribes
** to (contacts, opportunities, ...): refused here, before anything is
** stored, so they never fill the inbox. */
int32_t ghl_webhook_route(const struct sidecal_call_ctx *ctx, const struct sidecal_webhook *wh,
                          char *key, size_t key_size, struct sidecal_result *res) {
  (void)ctx;
  json_object *o = body_json(wh);
  if (!o) return sidecal_error(res, "GHL webhook body is not a complete JSON object");
  const char *loc = str_of(o, "locationId"), *type = str_of(o, "type");
  int32_t rc = !(loc && *loc && strlen(loc) < key_size)
                   ? sidecal_error(res, "GHL webhook has no locationId to route by")
               : !handled_type(type) ? unhandled(type, res)
                                     : (snprintf(key, key_size, "%s", loc), sidecal_ok(res));
  json_object_put(o);
  return rc;
}

int32_t ghl_instance_key(void *instance, char *key, size_t key_size) {
  struct ghl *g = instance;
  if (strlen(g->location_id) >= key_size) return -1;
  snprintf(key, key_size, "%s", g->location_id);
  return 0;
}

static EVP_PKEY *read_public_key(const struct sidecal_call_ctx *ctx, struct sidecal_result *res) {
  char *pem = g_malloc(PEM_MAX);
  int32_t n = ghl_host->secret_read(ctx->host_instance, "webhook_public_key", pem, PEM_MAX);
  if (n <= 0) {
    g_free(pem);
    sidecal_error(res, n == -1 ? "GHL webhook_public_key is not configured: cannot verify webhooks"
                               : "GHL webhook_public_key cannot be read");
    return NULL;
  }
  BIO *bio = BIO_new_mem_buf(pem, n);
  EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  g_free(pem);
  if (!key) {
    sidecal_error(res, "GHL webhook_public_key is not a PEM public key");
  } else if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    key = NULL;
    sidecal_error(res, "GHL webhook_public_key is not an RSA key");
  }
  return key;
}

int32_t ghl_webhook_verify(void *instance, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_webhook *wh, struct sidecal_result *res) {
  (void)instance;
  const char *sig64 = header_of(wh, "x-wh-signature");
  if (!sig64 || !*sig64) return sidecal_error(res, "GHL webhook has no x-wh-signature header");
  gsize sig_len = 0;
  guchar *sig = g_base64_decode(sig64, &sig_len);
  if (!sig || !sig_len) {
    g_free(sig);
    return sidecal_error(res, "GHL webhook x-wh-signature is not base64");
  }
  EVP_PKEY *key = read_public_key(ctx, res);
  if (!key) {
    g_free(sig);
    return res->code;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
           EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)wh->body, (size_t)wh->body_len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  g_free(sig);
  if (!ok) return sidecal_error(res, "GHL webhook signature does not match its body");
  return sidecal_ok(res);
}

int32_t ghl_webhook_dedupe(void *instance, const struct sidecal_webhook *wh, char *buf,
                           size_t size) {
  (void)instance;
  return ghl_webhook_dedupe_key(wh->body, wh->body_len, buf, size) == 0 ? SIDECAL_OK : SIDECAL_ERROR;
}

int32_t ghl_webhook_parse(void *instance, const struct sidecal_call_ctx *ctx,
                          const struct sidecal_webhook *wh, const struct sidecal_sink *sink,
                          struct sidecal_result *res) {
  struct ghl *g = instance;
  json_object *o = body_json(wh), *appt;
  char msg[SIDECAL_MESSAGE_MAX];
  if (!o) return sidecal_error(res, "GHL webhook body is not a complete JSON object");
  const char *type = str_of(o, "type"), *loc = str_of(o, "locationId");
  int32_t rc;
  if (!loc || strcmp(loc, g->location_id)) {
    snprintf(msg, sizeof msg, "GHL webhook is for location \"%.100s\", this instance serves \"%.100s\"",
             loc ? loc : "", g->location_id);
    rc = sidecal_error(res, msg);
  } else if (!handled_type(type)) {
    rc = unhandled(type, res);
  } else if (!json_object_object_get_ex(o, "appointment", &appt) ||
             !json_object_is_type(appt, json_type_object) || !str_of(appt, "id")) {
    rc = sidecal_error(res, "GHL webhook has no appointment with an id");
  } else if (!strcmp(type, "AppointmentDelete")) {
    sink->deleted(sink, str_of(appt, "id"));
    rc = sidecal_ok(res);
  } else {
    /* The appointment names only its contactId; whoever receives it next
    ** (Cal.com) needs the client's e-mail or phone. */
    json_object *contact = NULL;
    rc = ghl_fetch_contact(g, ctx, str_of(appt, "contactId"), &contact, res);
    if (rc == SIDECAL_OK && ghl_report_appointment(g, appt, contact, sink) < 0)
      rc = sidecal_error(res, "GHL webhook appointment has unreadable startTime or endTime");
    json_object_put(contact);
  }
  json_object_put(o);
  return rc;
}
