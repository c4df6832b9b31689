/*
** Secret blobs (AES-256-GCM, format in crypto.h), the seed hash and small
** hashing/token helpers. All cryptography is OpenSSL EVP; this file only
** lays out bytes and turns failures into messages.
*/
#include "keyring_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PREFIX_LEN 5 /* version + key number: the authenticated header */
#define NONCE_LEN 12
#define CHUNK (1 << 30) /* EVP lengths are int */

/* Fixed label so the hmac secret could key other hashes later without a
** seed hash ever colliding with them. The NUL is part of the label. */
static const char seed_label[] = "sidecal seed hash v1";

static int openssl_error(struct sc_error *err, const char *what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  else snprintf(buf, sizeof buf, "no detail");
  ERR_clear_error();
  return sc_error_set(err, SC_ECRYPTO, NULL, "%s failed in OpenSSL: %s", what,
                      buf);
}

static uint32_t get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Feeds the header and the caller's AAD. The header is fixed-length, so
** header||aad is unambiguous. */
static int gcm_aad(EVP_CIPHER_CTX *ctx, bool enc, const unsigned char *prefix,
                   const unsigned char *aad, size_t aad_n) {
  int outl;
  int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *,
                const unsigned char *, int) =
      enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  if (update(ctx, NULL, &outl, prefix, PREFIX_LEN) != 1) return -1;
  for (size_t off = 0; off < aad_n;) {
    int len = aad_n - off > CHUNK ? CHUNK : (int)(aad_n - off);
    if (update(ctx, NULL, &outl, aad + off, len) != 1) return -1;
    off += (size_t)len;
  }
  return 0;
}

static int gcm_data(EVP_CIPHER_CTX *ctx, bool enc, const unsigned char *in,
                    size_t n, unsigned char *out) {
  int outl;
  int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *,
                const unsigned char *, int) =
      enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  for (size_t off = 0; off < n;) {
    int len = n - off > CHUNK ? CHUNK : (int)(n - off);
    if (update(ctx, out + off, &outl, in + off, len) != 1 || outl != len)
      return -1;
    off += (size_t)len;
  }
  return 0;
}

int sc_crypto_encrypt(const struct sc_keyring *kr, const void *plain,
                      size_t n, const void *aad, size_t aad_n,
                      unsigned char **out, size_t *out_n,
                      struct sc_error *err) {
  *out = NULL;
  *out_n = 0;
  if (n > SIZE_MAX - SC_CRYPTO_BLOB_OVERHEAD || (n && !plain) ||
      (aad_n && !aad))
    return sc_error_set(err, SC_EINVAL, NULL, "invalid plaintext or AAD");
  uint32_t num;
  const unsigned char *key = sc_keyring_active_key(kr, &num);
  size_t total = n + SC_CRYPTO_BLOB_OVERHEAD;
  unsigned char *blob = malloc(total);
  if (!blob) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  blob[0] = SC_CRYPTO_BLOB_VERSION;
  put_be32(blob + 1, num);
  unsigned char *nonce = blob + PREFIX_LEN;
  unsigned char *ct = blob + SC_CRYPTO_HEADER_LEN;
  if (RAND_bytes(nonce, NONCE_LEN) != 1) {
    free(blob);
    return openssl_error(err, "nonce generation");
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int outl, ok = ctx &&
      EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) == 1 &&
      gcm_aad(ctx, true, blob, aad, aad_n) == 0 &&
      gcm_data(ctx, true, plain, n, ct) == 0 &&
      EVP_EncryptFinal_ex(ctx, ct + n, &outl) == 1 && outl == 0 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SC_CRYPTO_TAG_LEN,
                          ct + n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    free(blob);
    return openssl_error(err, "AES-256-GCM encryption");
  }
  *out = blob;
  *out_n = total;
  return SC_OK;
}

/* Header checks in the order that gives the most useful message: a blob
** from a future format is reported as such even when it is short. */
static int check_header(const struct sc_keyring *kr, const unsigned char *blob,
                        size_t n, const unsigned char **key,
                        struct sc_error *err) {
  if (n >= 1 && blob[0] != SC_CRYPTO_BLOB_VERSION)
    return sc_error_set(err, SC_ECRYPTO, NULL,
                        "unsupported ciphertext format version %u (this build "
                        "reads version %d)", blob[0], SC_CRYPTO_BLOB_VERSION);
  if (n < SC_CRYPTO_BLOB_OVERHEAD)
    return sc_error_set(err, SC_ECRYPTO, NULL,
                        "ciphertext is truncated (%zu bytes; a valid one has "
                        "at least %d)", n, SC_CRYPTO_BLOB_OVERHEAD);
  uint32_t num = get_be32(blob + 1);
  *key = sc_keyring_key(kr, num);
  if (!*key)
    return sc_error_set(err, SC_ECRYPTO, NULL,
                        "unknown key id \"k%" PRIu32 "\": keyring %s has no "
                        "such key; is it complete?", num, sc_keyring_path(kr));
  return SC_OK;
}

int sc_crypto_decrypt(const struct sc_keyring *kr, const unsigned char *blob,
                      size_t n, const void *aad, size_t aad_n,
                      unsigned char **plain, size_t *plain_n,
                      struct sc_error *err) {
  *plain = NULL;
  *plain_n = 0;
  if ((n && !blob) || (aad_n && !aad))
    return sc_error_set(err, SC_EINVAL, NULL, "invalid ciphertext or AAD");
  const unsigned char *key;
  int rc = check_header(kr, blob, n, &key, err);
  if (rc != SC_OK) return rc;
  size_t pn = n - SC_CRYPTO_BLOB_OVERHEAD;
  const unsigned char *ct = blob + SC_CRYPTO_HEADER_LEN;
  unsigned char tag[SC_CRYPTO_TAG_LEN];
  memcpy(tag, ct + pn, sizeof tag); /* SET_TAG takes a non-const pointer */
  unsigned char *buf = malloc(pn + 1);
  if (!buf) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int outl;
  int setup = ctx &&
      EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, blob + PREFIX_LEN,
                          NULL) == 1 &&
      gcm_aad(ctx, false, blob, aad, aad_n) == 0 &&
      gcm_data(ctx, false, ct, pn, buf) == 0 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) == 1;
  int verified = setup && EVP_DecryptFinal_ex(ctx, buf + pn, &outl) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!verified) {
    /* Unauthenticated plaintext must not survive the call. */
    OPENSSL_cleanse(buf, pn + 1);
    free(buf);
    if (!setup) return openssl_error(err, "AES-256-GCM decryption");
    ERR_clear_error();
    return sc_error_set(err, SC_ECRYPTO, NULL,
                        "ciphertext failed authentication (tampered or wrong "
                        "row)");
  }
  buf[pn] = '\0';
  *plain = buf;
  *plain_n = pn;
  return SC_OK;
}

int sc_crypto_blob_key_id(const unsigned char *blob, size_t n, char *id,
                          size_t idlen) {
  if (!blob || n < SC_CRYPTO_BLOB_OVERHEAD ||
      blob[0] != SC_CRYPTO_BLOB_VERSION)
    return SC_ECRYPTO;
  if (!id || idlen < SC_CRYPTO_KEY_ID_MAX) return SC_EINVAL;
  snprintf(id, idlen, "k%" PRIu32, get_be32(blob + 1));
  return SC_OK;
}

int sc_crypto_seed_hash(const struct sc_keyring *kr, const void *data,
                        size_t n, unsigned char out[SC_CRYPTO_HASH_LEN]) {
  if (n && !data) return SC_EINVAL;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
      OSSL_PARAM_construct_end()};
  size_t outl = 0;
  int ok = ctx &&
      EVP_MAC_init(ctx, sc_keyring_hmac_secret(kr), SC_KEY_LEN, params) == 1 &&
      EVP_MAC_update(ctx, (const unsigned char *)seed_label,
                     sizeof seed_label) == 1 &&
      (n == 0 || EVP_MAC_update(ctx, data, n) == 1) &&
      EVP_MAC_final(ctx, out, &outl, SC_CRYPTO_HASH_LEN) == 1 &&
      outl == SC_CRYPTO_HASH_LEN;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) {
    ERR_clear_error();
    return SC_ECRYPTO;
  }
  return SC_OK;
}

int sc_crypto_random_token(char *out, size_t size) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (!out || size == 0 || size > INT_MAX) return SC_EINVAL;
  size_t n = size - 1;
  unsigned char *raw = malloc(n ? n : 1);
  if (!raw) return SC_ENOMEM;
  if (n && RAND_bytes(raw, (int)n) != 1) {
    ERR_clear_error();
    free(raw);
    out[0] = '\0';
    return SC_ECRYPTO;
  }
  /* 256 is a multiple of 64, so masking keeps every character uniform. */
  for (size_t i = 0; i < n; i++) out[i] = alphabet[raw[i] & 63];
  out[n] = '\0';
  OPENSSL_cleanse(raw, n);
  free(raw);
  return SC_OK;
}

int sc_crypto_sha256(const void *data, size_t n,
                     unsigned char out[SC_CRYPTO_HASH_LEN]) {
  if (n && !data) return SC_EINVAL;
  unsigned int outl = 0;
  if (EVP_Digest(data, n, out, &outl, EVP_sha256(), NULL) != 1 ||
      outl != SC_CRYPTO_HASH_LEN) {
    ERR_clear_error();
    return SC_ECRYPTO;
  }
  return SC_OK;
}

void sc_crypto_free_secret(void *p, size_t n) {
  if (!p) return;
  OPENSSL_cleanse(p, n);
  free(p);
}
