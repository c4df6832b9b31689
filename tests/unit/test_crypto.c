/* Tests for core/keyring.c and core/crypto.c: the keyring file, secret
** blobs, tamper detection, rotation and the hashing helpers. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

static const char AUTH_FAIL[] =
    "ciphertext failed authentication (tampered or wrong row)";
static const char AAD[] = "11111111-1111-1111-1111-111111111111/"
                          "22222222-2222-2222-2222-222222222222/token";

struct fixture {
  char *dir;
  char *path; /* dir/master.keys, not created yet */
};

static void fx_setup(struct fixture *fx, gconstpointer data) {
  (void)data;
  fx->dir = fx->path = NULL;
  if (g_test_subprocess()) return; /* the parent's files are used */
  GError *gerr = NULL;
  fx->dir = g_dir_make_tmp("sc-crypto-XXXXXX", &gerr);
  g_assert_no_error(gerr);
  fx->path = g_build_filename(fx->dir, "master.keys", NULL);
}

static void fx_teardown(struct fixture *fx, gconstpointer data) {
  (void)data;
  GDir *d = g_dir_open(fx->dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    char *p = g_build_filename(fx->dir, name, NULL);
    g_unlink(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(fx->dir);
  g_free(fx->path);
  g_free(fx->dir);
}

static char *read_all(const char *path) {
  char *s = NULL;
  GError *gerr = NULL;
  g_file_get_contents(path, &s, NULL, &gerr);
  g_assert_no_error(gerr);
  return s;
}

static void write_mode(const char *path, const char *content, size_t len,
                       int mode) {
  GError *gerr = NULL;
  g_file_set_contents(path, content, (gssize)len, &gerr);
  g_assert_no_error(gerr);
  g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static unsigned file_mode(const char *path) {
  struct stat st;
  g_assert_cmpint(stat(path, &st), ==, 0);
  return st.st_mode & 07777;
}

static unsigned dir_entries(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  unsigned n = 0;
  while (g_dir_read_name(d)) n++;
  g_dir_close(d);
  return n;
}

static struct sc_keyring *create_and_load(const char *path) {
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(path, &err), ==, SC_OK);
  struct sc_keyring *kr = NULL;
  int rc = sc_keyring_load(path, &kr, &err);
  if (rc != SC_OK) g_test_message("%s", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
  return kr;
}

static void encrypt_ok(const struct sc_keyring *kr, const void *p, size_t n,
                       const char *aad, unsigned char **blob, size_t *blob_n) {
  struct sc_error err = {0};
  int rc = sc_crypto_encrypt(kr, p, n, aad, aad ? strlen(aad) : 0, blob,
                             blob_n, &err);
  if (rc != SC_OK) g_test_message("%s", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
  g_assert_cmpuint(*blob_n, ==, n + SC_CRYPTO_BLOB_OVERHEAD);
}

/* Decrypts and asserts failure with the exact message, and that no
** plaintext came back. */
static void assert_decrypt_fails(const struct sc_keyring *kr,
                                 const unsigned char *blob, size_t n,
                                 const char *aad, const char *message) {
  struct sc_error err = {0};
  unsigned char sentinel;
  unsigned char *plain = &sentinel;
  size_t plain_n = 12345;
  int rc = sc_crypto_decrypt(kr, blob, n, aad, aad ? strlen(aad) : 0, &plain,
                             &plain_n, &err);
  g_assert_cmpint(rc, ==, SC_ECRYPTO);
  g_assert_cmpint(err.code, ==, SC_ECRYPTO);
  g_assert_cmpstr(err.message, ==, message);
  g_assert_null(plain);
  g_assert_cmpuint(plain_n, ==, 0);
}

static char *b64_of(size_t len, unsigned char fill) {
  unsigned char raw[64];
  memset(raw, fill, sizeof raw);
  return g_base64_encode(raw, len);
}

static char *expand(const char *tmpl) {
  char *h = b64_of(32, 0x11), *k = b64_of(32, 0x22), *s = b64_of(16, 0x33);
  GString *g = g_string_new(NULL);
  for (const char *p = tmpl; *p; p++) {
    if (p[0] == '%' && p[1] == 'H') g_string_append(g, h), p++;
    else if (p[0] == '%' && p[1] == 'K') g_string_append(g, k), p++;
    else if (p[0] == '%' && p[1] == 'S') g_string_append(g, s), p++;
    else g_string_append_c(g, *p);
  }
  g_free(h);
  g_free(k);
  g_free(s);
  return g_string_free(g, FALSE);
}

/* ---- blobs -------------------------------------------------------------- */

static void test_roundtrip(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  size_t sizes[] = {0, 1, 100 * 1024};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    size_t n = sizes[i];
    unsigned char *p = g_malloc(n + 1);
    for (size_t j = 0; j < n; j++) p[j] = (unsigned char)(j * 7 + 3);
    for (int with_aad = 0; with_aad < 2; with_aad++) {
      const char *aad = with_aad ? AAD : NULL;
      unsigned char *blob;
      size_t blob_n;
      encrypt_ok(kr, n ? p : NULL, n, aad, &blob, &blob_n);
      /* The plaintext must not appear in the blob (for long inputs). */
      if (n >= 16) g_assert_null(memmem(blob, blob_n, p, 16));
      char id[SC_CRYPTO_KEY_ID_MAX];
      g_assert_cmpint(sc_crypto_blob_key_id(blob, blob_n, id, sizeof id), ==,
                      SC_OK);
      g_assert_cmpstr(id, ==, "k1");
      struct sc_error err = {0};
      unsigned char *out;
      size_t out_n;
      g_assert_cmpint(sc_crypto_decrypt(kr, blob, blob_n, aad,
                                        aad ? strlen(aad) : 0, &out, &out_n,
                                        &err), ==, SC_OK);
      g_assert_cmpuint(out_n, ==, n);
      g_assert_true(memcmp(out, p, n) == 0);
      g_assert_cmpint(out[n], ==, '\0');
      sc_crypto_free_secret(out, out_n);
      free(blob);
    }
    g_free(p);
  }
  sc_keyring_free(kr);
}

static void test_nonce_differs(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  unsigned char *a, *b;
  size_t an, bn;
  encrypt_ok(kr, "same secret", 11, AAD, &a, &an);
  encrypt_ok(kr, "same secret", 11, AAD, &b, &bn);
  g_assert_cmpuint(an, ==, bn);
  g_assert_true(memcmp(a, b, an) != 0);
  /* Header equal, nonces differ, so ciphertexts differ too. */
  g_assert_true(memcmp(a, b, 5) == 0);
  g_assert_true(memcmp(a + 5, b + 5, 12) != 0);
  g_assert_true(memcmp(a + 17, b + 17, 11) != 0);
  free(a);
  free(b);
  sc_keyring_free(kr);
}

static void test_tamper_every_bit(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  unsigned char *blob;
  size_t n;
  encrypt_ok(kr, "s3cret-token", 12, AAD, &blob, &n);
  unsigned char *copy = g_memdup2(blob, n);
  unsigned checked = 0;
  for (size_t pos = 0; pos < n; pos++) {
    for (int bit = 0; bit < 8; bit++) {
      blob[pos] ^= (unsigned char)(1u << bit);
      char *expect;
      if (pos == 0) {
        expect = g_strdup_printf("unsupported ciphertext format version %u "
                                 "(this build reads version 1)", blob[0]);
      } else if (pos <= 4) {
        uint32_t num = (uint32_t)blob[1] << 24 | (uint32_t)blob[2] << 16 |
                       (uint32_t)blob[3] << 8 | blob[4];
        g_assert_cmpuint(num, !=, 1);
        expect = g_strdup_printf("unknown key id \"k%u\": keyring %s has no "
                                 "such key; is it complete?", num, fx->path);
      } else {
        expect = g_strdup(AUTH_FAIL);
      }
      assert_decrypt_fails(kr, blob, n, AAD, expect);
      g_free(expect);
      blob[pos] ^= (unsigned char)(1u << bit);
      checked++;
    }
  }
  g_assert_cmpuint(checked, ==, 8 * (12 + SC_CRYPTO_BLOB_OVERHEAD));
  /* The loop restored every bit: the blob still decrypts. */
  g_assert_true(memcmp(blob, copy, n) == 0);
  struct sc_error err = {0};
  unsigned char *out;
  size_t out_n;
  g_assert_cmpint(sc_crypto_decrypt(kr, blob, n, AAD, strlen(AAD), &out,
                                    &out_n, &err), ==, SC_OK);
  g_assert_cmpstr((char *)out, ==, "s3cret-token");
  sc_crypto_free_secret(out, out_n);
  g_free(copy);
  free(blob);
  sc_keyring_free(kr);
}

static void test_wrong_aad(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  unsigned char *blob;
  size_t n;
  encrypt_ok(kr, "pw", 2, "org-a/inst-1/password", &blob, &n);
  const char *wrong[] = {"org-b/inst-1/password", "org-a/inst-2/password",
                         "org-a/inst-1/passwor", "org-a/inst-1/password ",
                         ""};
  for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++)
    assert_decrypt_fails(kr, blob, n, wrong[i], AUTH_FAIL);
  assert_decrypt_fails(kr, blob, n, NULL, AUTH_FAIL);
  free(blob);
  /* And the reverse: no AAD at encryption, some at decryption. */
  encrypt_ok(kr, "pw", 2, NULL, &blob, &n);
  assert_decrypt_fails(kr, blob, n, "org-a/inst-1/password", AUTH_FAIL);
  free(blob);
  sc_keyring_free(kr);
}

static void test_truncated(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  unsigned char *blob;
  size_t n;
  encrypt_ok(kr, "a secret of 20 bytes", 20, AAD, &blob, &n);
  for (size_t len = 0; len < n; len++) {
    /* A fresh allocation of exactly len bytes, so ASan sees any overread. */
    unsigned char *t = g_malloc(len ? len : 1);
    memcpy(t, blob, len);
    char *expect = len < SC_CRYPTO_BLOB_OVERHEAD
        ? g_strdup_printf("ciphertext is truncated (%zu bytes; a valid one has "
                          "at least 33)", len)
        : g_strdup(AUTH_FAIL);
    assert_decrypt_fails(kr, t, len, AAD, expect);
    char id[SC_CRYPTO_KEY_ID_MAX];
    g_assert_cmpint(sc_crypto_blob_key_id(t, len, id, sizeof id), ==,
                    len < SC_CRYPTO_BLOB_OVERHEAD ? SC_ECRYPTO : SC_OK);
    g_free(expect);
    g_free(t);
  }
  /* Appending bytes is tampering too. */
  unsigned char *longer = g_malloc(n + 1);
  memcpy(longer, blob, n);
  longer[n] = 0;
  assert_decrypt_fails(kr, longer, n + 1, AAD, AUTH_FAIL);
  g_free(longer);
  free(blob);
  sc_keyring_free(kr);
}

static void test_bad_version(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  unsigned char *blob;
  size_t n;
  encrypt_ok(kr, "x", 1, NULL, &blob, &n);
  blob[0] = 2;
  assert_decrypt_fails(kr, blob, n, NULL,
                       "unsupported ciphertext format version 2 (this build "
                       "reads version 1)");
  /* A short blob of another version reports the version, not truncation. */
  for (size_t len = 1; len <= 3; len++)
    assert_decrypt_fails(kr, blob, len, NULL,
                         "unsupported ciphertext format version 2 (this build "
                         "reads version 1)");
  blob[0] = 0;
  assert_decrypt_fails(kr, blob, n, NULL,
                       "unsupported ciphertext format version 0 (this build "
                       "reads version 1)");
  char id[SC_CRYPTO_KEY_ID_MAX] = "unchanged";
  g_assert_cmpint(sc_crypto_blob_key_id(blob, n, id, sizeof id), ==,
                  SC_ECRYPTO);
  g_assert_cmpstr(id, ==, "unchanged");
  free(blob);
  sc_keyring_free(kr);
}

static void test_unknown_key_and_wrong_keyring(struct fixture *fx,
                                               gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_OK);
  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==, SC_OK);
  struct sc_keyring *two = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &two, &err), ==, SC_OK);
  char *other_path = g_build_filename(fx->dir, "other.keys", NULL);
  struct sc_keyring *other = create_and_load(other_path);

  unsigned char *blob;
  size_t n;
  encrypt_ok(two, "token", 5, AAD, &blob, &n);
  char *expect = g_strdup_printf("unknown key id \"k2\": keyring %s has no "
                                 "such key; is it complete?", other_path);
  assert_decrypt_fails(other, blob, n, AAD, expect);
  g_free(expect);
  free(blob);

  /* Same id k1, different secret: a wrong keyring never yields plaintext. */
  encrypt_ok(other, "token", 5, AAD, &blob, &n);
  assert_decrypt_fails(two, blob, n, AAD, AUTH_FAIL);
  free(blob);
  /* Relabelling a k2 blob as k1 fails even when both ids hold the same
  ** secret: the header is authenticated along with the AAD. */
  char *same = expand("hmac %H\nkey k1 %K\nkey k2 %K\n");
  char *same_path = g_build_filename(fx->dir, "same.keys", NULL);
  write_mode(same_path, same, strlen(same), 0600);
  struct sc_keyring *twins = NULL;
  g_assert_cmpint(sc_keyring_load(same_path, &twins, &err), ==, SC_OK);
  encrypt_ok(twins, "token", 5, AAD, &blob, &n);
  g_assert_cmpint(blob[4], ==, 2);
  blob[4] = 1;
  assert_decrypt_fails(twins, blob, n, AAD, AUTH_FAIL);
  blob[4] = 2;
  unsigned char *plain;
  size_t plain_n;
  g_assert_cmpint(sc_crypto_decrypt(twins, blob, n, AAD, strlen(AAD), &plain,
                                    &plain_n, &err), ==, SC_OK);
  sc_crypto_free_secret(plain, plain_n);
  free(blob);
  sc_keyring_free(twins);
  g_unlink(same_path);
  g_free(same_path);
  g_free(same);
  sc_keyring_free(other);
  sc_keyring_free(two);
  g_unlink(other_path);
  g_free(other_path);
}

/* ---- keyring file ------------------------------------------------------- */

static void test_create(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_OK);
  g_assert_cmpuint(file_mode(fx->path), ==, 0600);
  g_assert_cmpuint(dir_entries(fx->dir), ==, 1); /* no temp file left */
  char *before = read_all(fx->path);
  g_assert_true(g_str_has_prefix(before, "# sidecal master keyring."));
  struct sc_keyring *kr = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_OK);
  g_assert_cmpstr(sc_keyring_active_id(kr), ==, "k1");
  g_assert_cmpuint(sc_keyring_key_count(kr), ==, 1);
  sc_keyring_free(kr);

  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_ESTATE);
  char *expect = g_strdup_printf("%s: keyring already exists; refusing to "
                                 "overwrite it", fx->path);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
  char *after = read_all(fx->path);
  g_assert_cmpstr(after, ==, before);
  g_assert_cmpuint(dir_entries(fx->dir), ==, 1);

  /* Two keyrings never share secrets. */
  char *p2 = g_build_filename(fx->dir, "second.keys", NULL);
  g_assert_cmpint(sc_keyring_create(p2, &err), ==, SC_OK);
  char *second = read_all(p2);
  g_assert_cmpstr(second, !=, before);
  g_unlink(p2);
  g_free(p2);
  g_free(second);
  g_free(before);
  g_free(after);
}

static void test_create_missing_dir(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  char *p = g_build_filename(fx->dir, "nope", "master.keys", NULL);
  g_assert_cmpint(sc_keyring_create(p, &err), ==, SC_EIO);
  char *expect = g_strdup_printf("%s: cannot create a file in %s/nope: No such "
                                 "file or directory", p, fx->dir);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
  g_free(p);
}

static void test_load_missing(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  struct sc_keyring *kr = (struct sc_keyring *)&err; /* must become NULL */
  g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_EIO);
  g_assert_null(kr);
  char *expect = g_strdup_printf("%s: cannot read keyring: No such file or "
                                 "directory (create one with sidecalctl "
                                 "create-master-key)", fx->path);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
}

static void test_mode_check(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_OK);
  char *before = read_all(fx->path);
  int modes[] = {0640, 0604, 0620, 0660, 0644};
  for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
    g_assert_cmpint(g_chmod(fx->path, modes[i]), ==, 0);
    struct sc_keyring *kr = NULL;
    g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_ESTATE);
    g_assert_null(kr);
    char *expect = g_strdup_printf("%s: keyring is accessible by group or "
                                   "others (mode %04o); run chmod 600 on it",
                                   fx->path, modes[i]);
    g_assert_cmpstr(err.message, ==, expect);
    /* A rotation refuses as well and changes nothing. */
    char id[SC_CRYPTO_KEY_ID_MAX];
    g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==,
                    SC_ESTATE);
    g_assert_cmpstr(err.message, ==, expect);
    char *after = read_all(fx->path);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpuint(file_mode(fx->path), ==, (unsigned)modes[i]);
    g_free(after);
    g_free(expect);
  }
  /* Owner-only modes are fine, including read-only. */
  g_assert_cmpint(g_chmod(fx->path, 0400), ==, 0);
  struct sc_keyring *kr = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_OK);
  sc_keyring_free(kr);
  g_free(before);
}

struct parse_case {
  const char *body;  /* %H: valid hmac; %K: valid key; %S: 16-byte secret */
  int code;
  const char *message; /* after "PATH" */
};

static const struct parse_case parse_cases[] = {
  {"", SC_EINVAL, ": no hmac line; the keyring is incomplete"},
  {"# only a comment\nkey k1 %K\n", SC_EINVAL,
   ": no hmac line; the keyring is incomplete"},
  {"hmac %H\n", SC_EINVAL,
   ": no key line; a keyring needs at least one \"key k1 <base64>\""},
  {"hmac %H\nkey k1 not*base64*at*all*but*length*44xxxxxxxxxx=\n", SC_EINVAL,
   ":2: key k1 is not valid base64"},
  {"hmac %H\nkey k1 ESIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI-\n", SC_EINVAL,
   ":2: key k1 is not valid base64"},
  {"hmac %H\nkey k1 %K=\n", SC_EINVAL, ":2: key k1 is not valid base64"},
  {"hmac %H\nkey k1 %S\n", SC_EINVAL,
   ":2: key k1 is 16 bytes; it must be 32 (base64 of 32 random bytes)"},
  {"hmac %S\nkey k1 %K\n", SC_EINVAL,
   ":1: hmac secret is 16 bytes; it must be 32 (base64 of 32 random bytes)"},
  {"hmac ###\nkey k1 %K\n", SC_EINVAL, ":1: hmac secret is not valid base64"},
  {"hmac %H\nkey k1 %K\n\nkey k2 %K\nkey k1 %K\n", SC_EINVAL,
   ":5: duplicate key id k1 (first on line 2)"},
  {"hmac %H\nkey k1 %K\nhmac %H\n", SC_EINVAL,
   ":3: second hmac line (the first is on line 1); there must be exactly one"},
  {"hmac %H\nkey key1 %K\n", SC_EINVAL,
   ":2: key id \"key1\" is not k followed by a number from 1 to 4294967295 "
   "(e.g. k1)"},
  {"hmac %H\nkey k01 %K\n", SC_EINVAL,
   ":2: key id \"k01\" is not k followed by a number from 1 to 4294967295 "
   "(e.g. k1)"},
  {"hmac %H\nkey k0 %K\n", SC_EINVAL,
   ":2: key id \"k0\" is not k followed by a number from 1 to 4294967295 "
   "(e.g. k1)"},
  {"hmac %H\nkey k4294967296 %K\n", SC_EINVAL,
   ":2: key id \"k4294967296\" is not k followed by a number from 1 to "
   "4294967295 (e.g. k1)"},
  {"hmac %H\nkey k1\n", SC_EINVAL,
   ":2: key line needs an id and one base64 secret"},
  {"hmac %H\nkey k1 %K # the first key\n", SC_EINVAL,
   ":2: key line needs an id and one base64 secret"},
  {"hmac\nkey k1 %K\n", SC_EINVAL,
   ":1: hmac line needs exactly one base64 secret"},
  {"hmac %H\nsecret k1 %K\n", SC_EINVAL,
   ":2: unknown entry \"secret\" (expected hmac or key)"},
  {"HMAC %H\nkey k1 %K\n", SC_EINVAL,
   ":1: unknown entry \"HMAC\" (expected hmac or key)"},
};

static void test_parse_errors(struct fixture *fx, gconstpointer data) {
  (void)data;
  for (size_t i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
    const struct parse_case *c = &parse_cases[i];
    char *body = expand(c->body);
    write_mode(fx->path, body, strlen(body), 0600);
    struct sc_error err = {0};
    struct sc_keyring *kr = NULL;
    int rc = sc_keyring_load(fx->path, &kr, &err);
    char *expect = g_strconcat(fx->path, c->message, NULL);
    g_test_message("case %zu: %s", i, expect);
    g_assert_cmpint(rc, ==, c->code);
    g_assert_null(kr);
    g_assert_cmpstr(err.message, ==, expect);
    /* add_key validates first: same message, file untouched. */
    char id[SC_CRYPTO_KEY_ID_MAX] = "unchanged";
    g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==,
                    c->code);
    g_assert_cmpstr(err.message, ==, expect);
    g_assert_cmpstr(id, ==, "unchanged");
    char *after = read_all(fx->path);
    g_assert_cmpstr(after, ==, body);
    g_assert_cmpuint(dir_entries(fx->dir), ==, 1);
    g_free(after);
    g_free(expect);
    g_free(body);
  }
}

static void test_parse_nul_byte(struct fixture *fx, gconstpointer data) {
  (void)data;
  char *body = expand("hmac %H\nkey k1 %K\n");
  body[2] = '\0';
  write_mode(fx->path, body, strlen(body + 3) + 3, 0600);
  struct sc_error err = {0};
  struct sc_keyring *kr = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_EINVAL);
  char *expect = g_strdup_printf("%s: keyring contains a NUL byte; is this "
                                 "the right file?", fx->path);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
  g_free(body);
}

static void test_parse_accepts(struct fixture *fx, gconstpointer data) {
  (void)data;
  /* Comments, blank lines, CRLF, tabs, no final newline, ids out of order:
  ** the last key line is the active one. */
  char *body = expand("# comment\r\n\r\n  # indented comment\n"
                      "hmac\t%H\r\nkey k7 %K\n\nkey k3   %K");
  write_mode(fx->path, body, strlen(body), 0600);
  struct sc_error err = {0};
  struct sc_keyring *kr = NULL;
  int rc = sc_keyring_load(fx->path, &kr, &err);
  if (rc != SC_OK) g_test_message("%s", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
  g_assert_cmpstr(sc_keyring_active_id(kr), ==, "k3");
  g_assert_cmpuint(sc_keyring_key_count(kr), ==, 2);
  sc_keyring_free(kr);
  /* A rotation numbers above the highest id, not the last one. */
  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==, SC_OK);
  g_assert_cmpstr(id, ==, "k8");
  char *after = read_all(fx->path);
  g_assert_true(g_str_has_prefix(after, body));
  g_assert_cmpint(after[strlen(body)], ==, '\n'); /* missing newline added */
  g_assert_true(g_str_has_prefix(after + strlen(body) + 1, "key k8 "));
  g_free(after);
  g_free(body);
}

static void test_add_key(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  struct sc_keyring *kr1 = create_and_load(fx->path);
  char *before = read_all(fx->path);
  unsigned char *old_blob;
  size_t old_n;
  encrypt_ok(kr1, "old secret", 10, AAD, &old_blob, &old_n);
  unsigned char h1[SC_CRYPTO_HASH_LEN];
  g_assert_cmpint(sc_crypto_seed_hash(kr1, "configured", 10, h1), ==, SC_OK);

  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==, SC_OK);
  g_assert_cmpstr(id, ==, "k2");
  g_assert_cmpuint(file_mode(fx->path), ==, 0600);
  g_assert_cmpuint(dir_entries(fx->dir), ==, 1);
  char *after = read_all(fx->path);
  g_assert_true(g_str_has_prefix(after, before)); /* old keys kept verbatim */
  /* The loaded keyring keeps its old view until reloaded. */
  g_assert_cmpstr(sc_keyring_active_id(kr1), ==, "k1");

  struct sc_keyring *kr2 = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &kr2, &err), ==, SC_OK);
  g_assert_cmpstr(sc_keyring_active_id(kr2), ==, "k2");
  g_assert_cmpuint(sc_keyring_key_count(kr2), ==, 2);

  unsigned char *plain;
  size_t plain_n;
  g_assert_cmpint(sc_crypto_decrypt(kr2, old_blob, old_n, AAD, strlen(AAD),
                                    &plain, &plain_n, &err), ==, SC_OK);
  g_assert_cmpstr((char *)plain, ==, "old secret");
  sc_crypto_free_secret(plain, plain_n);

  /* Re-encryption as a rotation does it: new blob uses k2, decrypts. */
  unsigned char *new_blob;
  size_t new_n;
  encrypt_ok(kr2, "old secret", 10, AAD, &new_blob, &new_n);
  g_assert_cmpint(sc_crypto_blob_key_id(new_blob, new_n, id, sizeof id), ==,
                  SC_OK);
  g_assert_cmpstr(id, ==, "k2");
  g_assert_cmpint(sc_crypto_blob_key_id(old_blob, old_n, id, sizeof id), ==,
                  SC_OK);
  g_assert_cmpstr(id, ==, "k1");
  /* The old keyring (k1 only) cannot read the new blob. */
  char *expect = g_strdup_printf("unknown key id \"k2\": keyring %s has no "
                                 "such key; is it complete?", fx->path);
  assert_decrypt_fails(kr1, new_blob, new_n, AAD, expect);
  g_free(expect);

  unsigned char h2[SC_CRYPTO_HASH_LEN];
  g_assert_cmpint(sc_crypto_seed_hash(kr2, "configured", 10, h2), ==, SC_OK);
  g_assert_true(memcmp(h1, h2, sizeof h1) == 0);

  /* A third rotation keeps counting. */
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==, SC_OK);
  g_assert_cmpstr(id, ==, "k3");

  free(old_blob);
  free(new_blob);
  g_free(before);
  g_free(after);
  sc_keyring_free(kr1);
  sc_keyring_free(kr2);
}

static void test_add_key_small_buffer(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_OK);
  char *before = read_all(fx->path);
  char id[4];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==,
                  SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "key id buffer too small (4 bytes; need 12)");
  char *after = read_all(fx->path);
  g_assert_cmpstr(after, ==, before);
  g_free(before);
  g_free(after);
}

static void test_add_key_exhausted(struct fixture *fx, gconstpointer data) {
  (void)data;
  char *body = expand("hmac %H\nkey k4294967295 %K\n");
  write_mode(fx->path, body, strlen(body), 0600);
  struct sc_error err = {0};
  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==,
                  SC_ESTATE);
  char *expect = g_strdup_printf("%s: key numbers are exhausted "
                                 "(k4294967295 exists)", fx->path);
  g_assert_cmpstr(err.message, ==, expect);
  char *after = read_all(fx->path);
  g_assert_cmpstr(after, ==, body);
  g_free(after);
  g_free(expect);
  g_free(body);
}

static void test_add_key_symlink(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  char *real = g_build_filename(fx->dir, "real.keys", NULL);
  g_assert_cmpint(sc_keyring_create(real, &err), ==, SC_OK);
  g_assert_cmpint(symlink("real.keys", fx->path), ==, 0);
  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(fx->path, id, sizeof id, &err), ==, SC_OK);
  g_assert_cmpstr(id, ==, "k2");
  struct stat st;
  g_assert_cmpint(lstat(fx->path, &st), ==, 0);
  g_assert_true(S_ISLNK(st.st_mode));
  struct sc_keyring *kr = NULL;
  g_assert_cmpint(sc_keyring_load(real, &kr, &err), ==, SC_OK);
  g_assert_cmpstr(sc_keyring_active_id(kr), ==, "k2");
  g_assert_cmpuint(file_mode(real), ==, 0600);
  sc_keyring_free(kr);
  g_free(real);
}

/* Concurrent rotations must not lose a key: each gets its own number. */
static gpointer rotate_thread(gpointer path) {
  char *id = g_malloc(SC_CRYPTO_KEY_ID_MAX);
  struct sc_error err = {0};
  int rc = sc_keyring_add_key(path, id, SC_CRYPTO_KEY_ID_MAX, &err);
  g_assert_cmpint(rc, ==, SC_OK);
  return id;
}

static void test_add_key_concurrent(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_error err = {0};
  g_assert_cmpint(sc_keyring_create(fx->path, &err), ==, SC_OK);
  enum { N = 8 };
  GThread *t[N];
  for (int i = 0; i < N; i++) t[i] = g_thread_new("rot", rotate_thread, fx->path);
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  for (int i = 0; i < N; i++)
    g_assert_true(g_hash_table_add(seen, g_thread_join(t[i])));
  struct sc_keyring *kr = NULL;
  g_assert_cmpint(sc_keyring_load(fx->path, &kr, &err), ==, SC_OK);
  g_assert_cmpuint(sc_keyring_key_count(kr), ==, N + 1);
  g_assert_cmpstr(sc_keyring_active_id(kr), ==, "k9");
  g_assert_true(g_hash_table_contains(seen, "k9"));
  g_assert_true(g_hash_table_contains(seen, "k2"));
  sc_keyring_free(kr);
  g_hash_table_destroy(seen);
}

/* ---- hashes and tokens -------------------------------------------------- */

static void test_seed_hash(struct fixture *fx, gconstpointer data) {
  (void)data;
  struct sc_keyring *kr = create_and_load(fx->path);
  char *p2 = g_build_filename(fx->dir, "b.keys", NULL);
  struct sc_keyring *other = create_and_load(p2);
  unsigned char a[32], b[32], c[32], d[32], e[32];
  g_assert_cmpint(sc_crypto_seed_hash(kr, "value", 5, a), ==, SC_OK);
  g_assert_cmpint(sc_crypto_seed_hash(kr, "value", 5, b), ==, SC_OK);
  g_assert_cmpint(sc_crypto_seed_hash(kr, "valuf", 5, c), ==, SC_OK);
  g_assert_cmpint(sc_crypto_seed_hash(other, "value", 5, d), ==, SC_OK);
  g_assert_cmpint(sc_crypto_sha256("value", 5, e), ==, SC_OK);
  g_assert_true(memcmp(a, b, 32) == 0);
  g_assert_true(memcmp(a, c, 32) != 0);
  g_assert_true(memcmp(a, d, 32) != 0); /* keyed: another keyring differs */
  g_assert_true(memcmp(a, e, 32) != 0);
  g_assert_cmpint(sc_crypto_seed_hash(kr, NULL, 0, a), ==, SC_OK);
  g_assert_cmpint(sc_crypto_seed_hash(kr, "", 0, b), ==, SC_OK);
  g_assert_true(memcmp(a, b, 32) == 0);
  sc_keyring_free(kr);
  sc_keyring_free(other);
  g_unlink(p2);
  g_free(p2);
}

static void test_sha256_vector(void) {
  /* FIPS 180-2 test vector for "abc". */
  unsigned char out[32];
  g_assert_cmpint(sc_crypto_sha256("abc", 3, out), ==, SC_OK);
  char hex[65];
  for (int i = 0; i < 32; i++) g_snprintf(hex + 2 * i, 3, "%02x", out[i]);
  g_assert_cmpstr(hex, ==,
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_random_token(void) {
  char a[33], b[33];
  g_assert_cmpint(sc_crypto_random_token(a, sizeof a), ==, SC_OK);
  g_assert_cmpint(sc_crypto_random_token(b, sizeof b), ==, SC_OK);
  g_assert_cmpuint(strlen(a), ==, 32);
  g_assert_cmpstr(a, !=, b);
  g_assert_cmpuint(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789-_"), ==, 32);
  /* Over many characters every one of the 64 symbols shows up. */
  char big[4097];
  g_assert_cmpint(sc_crypto_random_token(big, sizeof big), ==, SC_OK);
  int seen[256] = {0};
  for (size_t i = 0; i < 4096; i++) seen[(unsigned char)big[i]] = 1;
  int distinct = 0;
  for (int i = 0; i < 256; i++) distinct += seen[i];
  g_assert_cmpint(distinct, ==, 64);
  char one[1] = {'x'};
  g_assert_cmpint(sc_crypto_random_token(one, 1), ==, SC_OK);
  g_assert_cmpint(one[0], ==, '\0');
  g_assert_cmpint(sc_crypto_random_token(one, 0), ==, SC_EINVAL);
}

/* ---- sidecalctl create-master-key ---------------------------------------- */

static int run_cmd(const char *a1, const char *a2) {
  char *argv[] = {(char *)"create-master-key", (char *)a1, (char *)a2, NULL};
  int argc = 1 + (a1 != NULL) + (a2 != NULL);
  return sc_cmd_create_master_key(argc, argv);
}

static void test_cmd_create(struct fixture *fx, gconstpointer data) {
  (void)data;
  if (g_test_subprocess()) {
    /* g_test_trap_get_status needs GLib 2.80; Debian 12 has 2.74. So the
    ** child compares the command's status with the expected one. */
    const char *step = g_getenv("SC_TEST_STEP");
    const char *path = g_getenv("SC_TEST_PATH");
    int want = atoi(g_getenv("SC_TEST_STATUS"));
    int got = 99;
    if (!strcmp(step, "create") || !strcmp(step, "again"))
      got = run_cmd(path, NULL);
    else if (!strcmp(step, "if-missing"))
      got = run_cmd("--if-missing", path);
    else if (!strcmp(step, "env")) {
      g_setenv("SIDECAL_MASTER_KEY_FILE", path, TRUE);
      got = run_cmd("--if-missing", NULL);
    } else if (!strcmp(step, "nopath")) {
      g_unsetenv("SIDECAL_MASTER_KEY_FILE");
      got = run_cmd(NULL, NULL);
    } else if (!strcmp(step, "badarg")) {
      got = run_cmd("--force", path);
    }
    fflush(stdout);
    fflush(stderr);
    exit(got == want ? 0 : 1);
  }
  struct {
    const char *step;
    int status;
    const char *out, *err; /* %s: path */
  } steps[] = {
    {"create", 0, "created keyring %s (active key k1)\n", ""},
    {"again", 2, "", "sidecalctl create-master-key: %s: keyring already "
                     "exists; refusing to overwrite it\n"},
    {"if-missing", 0, "keyring %s exists (active key k1)\n", ""},
    {"env", 0, "keyring %s exists (active key k1)\n", ""},
    {"nopath", 2, "", "sidecalctl create-master-key: no PATH given and "
                      "SIDECAL_MASTER_KEY_FILE is not set\n"},
    {"badarg", 2, "", "usage: sidecalctl create-master-key [--if-missing] "
                      "[PATH]\n"},
  };
  g_setenv("SC_TEST_PATH", fx->path, TRUE);
  for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
    g_setenv("SC_TEST_STEP", steps[i].step, TRUE);
    char status[8];
    g_snprintf(status, sizeof status, "%d", steps[i].status);
    g_setenv("SC_TEST_STATUS", status, TRUE);
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDIN);
    char *out = g_strdup_printf(steps[i].out, fx->path);
    char *errs = g_strdup_printf(steps[i].err, fx->path);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout(out[0] ? out : "");
    g_test_trap_assert_stderr(errs[0] ? errs : "");
    g_free(out);
    g_free(errs);
  }
  g_assert_cmpuint(file_mode(fx->path), ==, 0600);
  /* --if-missing on a broken keyring reports it and fails. */
  g_assert_cmpint(g_chmod(fx->path, 0644), ==, 0);
  g_setenv("SC_TEST_STEP", "if-missing", TRUE);
  g_setenv("SC_TEST_STATUS", "2", TRUE);
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDIN);
  g_test_trap_assert_passed();
  char *expect = g_strdup_printf("sidecalctl create-master-key: %s: keyring "
                                 "is accessible by group or others (mode "
                                 "0644); run chmod 600 on it\n", fx->path);
  g_test_trap_assert_stderr(expect);
  g_test_trap_assert_stdout("");
  g_free(expect);
}

#define ADD(name, fn) \
  g_test_add(name, struct fixture, NULL, fx_setup, fn, fx_teardown)

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  ADD("/crypto/roundtrip", test_roundtrip);
  ADD("/crypto/nonce_differs", test_nonce_differs);
  ADD("/crypto/tamper_every_bit", test_tamper_every_bit);
  ADD("/crypto/wrong_aad", test_wrong_aad);
  ADD("/crypto/truncated", test_truncated);
  ADD("/crypto/bad_version", test_bad_version);
  ADD("/crypto/unknown_key_and_wrong_keyring",
      test_unknown_key_and_wrong_keyring);
  ADD("/keyring/create", test_create);
  ADD("/keyring/create_missing_dir", test_create_missing_dir);
  ADD("/keyring/load_missing", test_load_missing);
  ADD("/keyring/mode_check", test_mode_check);
  ADD("/keyring/parse_errors", test_parse_errors);
  ADD("/keyring/parse_nul_byte", test_parse_nul_byte);
  ADD("/keyring/parse_accepts", test_parse_accepts);
  ADD("/keyring/add_key", test_add_key);
  ADD("/keyring/add_key_small_buffer", test_add_key_small_buffer);
  ADD("/keyring/add_key_exhausted", test_add_key_exhausted);
  ADD("/keyring/add_key_symlink", test_add_key_symlink);
  ADD("/keyring/add_key_concurrent", test_add_key_concurrent);
  ADD("/crypto/seed_hash", test_seed_hash);
  g_test_add_func("/crypto/sha256_vector", test_sha256_vector);
  g_test_add_func("/crypto/random_token", test_random_token);
  ADD("/ctl/create_master_key", test_cmd_create);
  return g_test_run();
}
