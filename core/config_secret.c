/*
** Secret references in conf.d/ (env:NAME, file:PATH): recognising them,
** checking their syntax, spotting settings keys that must only hold a
** reference, and resolving a reference to its value. No message here ever
** contains a secret value.
*/
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_values.h"

/* Secrets are tokens and keys, not documents: a cap keeps "file:/dev/zero"
** from eating memory. */
#define SC_SECRET_FILE_MAX 65536

bool sc_config_is_secret_ref(const char *s) {
  return !strncmp(s, "env:", 4) || !strncmp(s, "file:", 5);
}

const char *sc_config_secret_ref_problem(const char *ref) {
  if (!strncmp(ref, "env:", 4))
    return sc_conf_env_name_ok(ref + 4)
               ? NULL
               : "NAME must match [A-Za-z_][A-Za-z0-9_]*";
  if (!strncmp(ref, "file:", 5))
    return ref[5] ? NULL : "PATH is empty";
  return "write env:NAME or file:PATH";
}

bool sc_config_secret_key_name(const char *key) {
  static const char *const words[] = {"secret",  "token",       "password",
                                      "api_key", "apikey",      "private_key",
                                      "client_secret", NULL};
  char *low = g_ascii_strdown(key, -1);
  bool hit = false;
  for (const char *const *w = words; *w && !hit; w++)
    hit = strstr(low, *w) != NULL;
  g_free(low);
  return hit;
}

static int resolve_env(const char *ref, char **value, struct sc_error *err) {
  const char *name = ref + 4;
  const char *v = getenv(name);
  if (!v)
    return sc_error_set(err, SC_ENOTFOUND, "",
                        "secret %s: environment variable %s is not set", ref,
                        name);
  if (!*v)
    return sc_error_set(err, SC_ENOTFOUND, "",
                        "secret %s: environment variable %s is empty", ref,
                        name);
  *value = strdup(v);
  return *value ? SC_OK
                : sc_error_set(err, SC_ENOMEM, "", "secret %s: out of memory",
                               ref);
}

/* Whole file into buf (NUL-terminated), at most SC_SECRET_FILE_MAX bytes. */
static int read_small_file(const char *ref, const char *path, char *buf,
                           size_t *len, struct sc_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return sc_error_set(err, SC_EIO, "", "secret %s: cannot open %s: %s", ref,
                        path, strerror(errno));
  *len = fread(buf, 1, SC_SECRET_FILE_MAX + 1, f);
  int failed = ferror(f);
  int saved = errno;
  fclose(f);
  if (failed)
    return sc_error_set(err, SC_EIO, "", "secret %s: cannot read %s: %s", ref,
                        path, strerror(saved));
  if (*len > SC_SECRET_FILE_MAX)
    return sc_error_set(err, SC_EIO, "",
                        "secret %s: file is larger than %d bytes", ref,
                        SC_SECRET_FILE_MAX);
  buf[*len] = '\0';
  return SC_OK;
}

static int resolve_file(const char *ref, char **value, struct sc_error *err) {
  char *buf = malloc(SC_SECRET_FILE_MAX + 2);
  size_t len = 0;
  if (!buf)
    return sc_error_set(err, SC_ENOMEM, "", "secret %s: out of memory", ref);
  int rc = read_small_file(ref, ref + 5, buf, &len, err);
  if (!rc && memchr(buf, '\0', len))
    rc = sc_error_set(err, SC_EINVAL, "",
                      "secret %s: file contains a NUL byte", ref);
  /* Editors end files with a newline; it is never part of a token. */
  if (!rc && len && buf[len - 1] == '\n') buf[--len] = '\0';
  if (!rc && len && buf[len - 1] == '\r') buf[--len] = '\0';
  if (!rc && !len)
    rc = sc_error_set(err, SC_EINVAL, "", "secret %s: file is empty", ref);
  if (rc) {
    free(buf);
    return rc;
  }
  *value = buf;
  return SC_OK;
}

int sc_config_resolve_secret(const char *ref, char **value,
                             struct sc_error *err) {
  *value = NULL;
  /* Not a reference at all: it may be a pasted secret, so never echo it. */
  if (!sc_config_is_secret_ref(ref))
    return sc_error_set(err, SC_EINVAL, "",
                        "not a secret reference; write env:NAME or file:PATH");
  const char *why = sc_config_secret_ref_problem(ref);
  if (why)
    return sc_error_set(err, SC_EINVAL, "",
                        "invalid secret reference \"%s\": %s", ref, why);
  if (!strncmp(ref, "env:", 4)) return resolve_env(ref, value, err);
  return resolve_file(ref, value, err);
}
