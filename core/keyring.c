/*
** The master keyring file (format in crypto.h): reading it with strict
** validation, creating it, and appending a key for rotation. Writes are
** atomic so a crash never leaves a half-written keyring, which would make
** every stored secret unreadable.
*/
#include "keyring_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define MAX_FILE_SIZE (1024 * 1024)
#define B64_KEY_LEN 44 /* base64 of 32 bytes, one '=' of padding */

struct sc_key {
  uint32_t num;
  unsigned line;
  char id[SC_CRYPTO_KEY_ID_MAX];
  unsigned char secret[SC_KEY_LEN];
};

struct sc_keyring {
  char *path;
  unsigned char hmac[SC_KEY_LEN];
  size_t n_keys;
  struct sc_key *keys;
};

/* ---- accessors ---------------------------------------------------------- */

const char *sc_keyring_active_id(const struct sc_keyring *kr) {
  return kr->keys[kr->n_keys - 1].id;
}

size_t sc_keyring_key_count(const struct sc_keyring *kr) { return kr->n_keys; }

const unsigned char *sc_keyring_key(const struct sc_keyring *kr, uint32_t num) {
  for (size_t i = 0; i < kr->n_keys; i++)
    if (kr->keys[i].num == num) return kr->keys[i].secret;
  return NULL;
}

const unsigned char *sc_keyring_active_key(const struct sc_keyring *kr,
                                           uint32_t *num) {
  *num = kr->keys[kr->n_keys - 1].num;
  return kr->keys[kr->n_keys - 1].secret;
}

const unsigned char *sc_keyring_hmac_secret(const struct sc_keyring *kr) {
  return kr->hmac;
}

const char *sc_keyring_path(const struct sc_keyring *kr) { return kr->path; }

void sc_keyring_free(struct sc_keyring *kr) {
  if (!kr) return;
  if (kr->keys) OPENSSL_cleanse(kr->keys, kr->n_keys * sizeof *kr->keys);
  OPENSSL_cleanse(kr->hmac, sizeof kr->hmac);
  free(kr->keys);
  free(kr->path);
  free(kr);
}

/* ---- reading ------------------------------------------------------------ */

/* Reads the whole file into a malloc'd, NUL-terminated buffer (the caller
** cleanses it: it holds keys). Bypasses stdio so no copy of the key
** material lingers in a FILE buffer. */
static int read_keyring_file(const char *path, char **buf, size_t *len,
                             struct sc_error *err) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return sc_error_set(err, SC_EIO, NULL, "%s: cannot read keyring: %s%s",
                        path, strerror(e),
                        e == ENOENT ? " (create one with sidecalctl "
                                      "create-master-key)" : "");
  }
  struct stat st;
  int rc = SC_OK;
  if (fstat(fd, &st) != 0) {
    rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot stat keyring: %s", path,
                      strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    rc = sc_error_set(err, SC_EINVAL, NULL, "%s: keyring is not a regular file",
                      path);
  } else if (st.st_mode & 077) {
    rc = sc_error_set(err, SC_ESTATE, NULL,
                      "%s: keyring is accessible by group or others (mode "
                      "%04o); run chmod 600 on it",
                      path, (unsigned)(st.st_mode & 07777));
  }
  if (rc != SC_OK) {
    close(fd);
    return rc;
  }
  /* The file may grow between fstat and read: read to EOF, within a cap. */
  char *b = malloc(MAX_FILE_SIZE + 1);
  if (!b) {
    close(fd);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory reading %s", path);
  }
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, b + n, MAX_FILE_SIZE + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot read keyring: %s", path,
                        strerror(errno));
      break;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n > MAX_FILE_SIZE) {
      rc = sc_error_set(err, SC_EINVAL, NULL,
                        "%s: keyring is larger than 1 MiB; is this the right "
                        "file?", path);
      break;
    }
  }
  close(fd);
  if (rc != SC_OK) {
    OPENSSL_cleanse(b, n);
    free(b);
    return rc;
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return SC_OK;
}

static bool is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Decodes standard padded base64 into out[SC_KEY_LEN]. Returns the decoded
** length (out is filled only when it is SC_KEY_LEN), or -1 when s is not
** canonical base64. OpenSSL's decoders accept stray characters ('-' ends
** input silently), so the alphabet and padding are checked here and the
** decoding itself is left to OpenSSL. */
static int decode_secret(const char *s, size_t len,
                         unsigned char out[SC_KEY_LEN]) {
  if (len == 0 || len % 4 != 0 || len > MAX_FILE_SIZE) return -1;
  size_t pad = 0;
  while (pad < 2 && s[len - 1 - pad] == '=') pad++;
  for (size_t i = 0; i < len - pad; i++)
    if (!is_b64_char(s[i])) return -1;
  int n = (int)(len / 4 * 3 - pad);
  if (n != SC_KEY_LEN) return n;
  unsigned char tmp[B64_KEY_LEN / 4 * 3];
  /* EVP_DecodeBlock counts padding as zero bytes: tmp has room for it. */
  if (EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len) < 0) n = -1;
  else memcpy(out, tmp, SC_KEY_LEN);
  OPENSSL_cleanse(tmp, sizeof tmp);
  return n;
}

/* Key ids are "k" + a decimal in 1..UINT32_MAX without leading zeros, so
** an id fits the 4-byte key number field of a blob. */
static bool parse_key_id(const char *s, size_t len, uint32_t *num) {
  if (len < 2 || len > 11 || s[0] != 'k' || s[1] == '0') return false;
  uint64_t v = 0;
  for (size_t i = 1; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > UINT32_MAX) return false;
  *num = (uint32_t)v;
  return true;
}

struct token {
  const char *s;
  size_t len;
};

/* Splits one line into at most max blank-separated tokens; returns how
** many there were in total (may exceed max). */
static size_t split_line(const char *p, const char *end, struct token *t,
                         size_t max) {
  size_t n = 0;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    if (p == end) break;
    const char *start = p;
    while (p < end && *p != ' ' && *p != '\t' && *p != '\r') p++;
    if (n < max) t[n] = (struct token){start, (size_t)(p - start)};
    n++;
  }
  return n;
}

struct parse_state {
  const char *path;
  struct sc_keyring *kr;
  unsigned hmac_line;
  size_t cap_keys;
};

static int parse_hmac(struct parse_state *ps, unsigned line,
                      const struct token *t, size_t nt, struct sc_error *err) {
  if (nt != 2)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: hmac line needs exactly one base64 secret",
                        ps->path, line);
  if (ps->hmac_line)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: second hmac line (the first is on line %u); "
                        "there must be exactly one", ps->path, line,
                        ps->hmac_line);
  int n = decode_secret(t[1].s, t[1].len, ps->kr->hmac);
  if (n < 0)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: hmac secret is not valid base64", ps->path,
                        line);
  if (n != SC_KEY_LEN)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: hmac secret is %d bytes; it must be 32 "
                        "(base64 of 32 random bytes)", ps->path, line, n);
  ps->hmac_line = line;
  return SC_OK;
}

static int parse_key(struct parse_state *ps, unsigned line,
                     const struct token *t, size_t nt, struct sc_error *err) {
  if (nt != 3)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: key line needs an id and one base64 secret",
                        ps->path, line);
  uint32_t num;
  if (!parse_key_id(t[1].s, t[1].len, &num))
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: key id \"%.*s\" is not k followed by a number "
                        "from 1 to 4294967295 (e.g. k1)", ps->path, line,
                        (int)(t[1].len > 32 ? 32 : t[1].len), t[1].s);
  struct sc_keyring *kr = ps->kr;
  for (size_t i = 0; i < kr->n_keys; i++)
    if (kr->keys[i].num == num)
      return sc_error_set(err, SC_EINVAL, NULL,
                          "%s:%u: duplicate key id k%" PRIu32
                          " (first on line %u)", ps->path, line, num,
                          kr->keys[i].line);
  if (kr->n_keys == ps->cap_keys) {
    size_t cap = ps->cap_keys ? ps->cap_keys * 2 : 4;
    /* Not realloc: it would leave an uncleansed copy of the old keys. */
    struct sc_key *k = calloc(cap, sizeof *k);
    if (!k) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
    if (kr->n_keys) {
      memcpy(k, kr->keys, kr->n_keys * sizeof *k);
      OPENSSL_cleanse(kr->keys, kr->n_keys * sizeof *k);
    }
    free(kr->keys);
    kr->keys = k;
    ps->cap_keys = cap;
  }
  struct sc_key *key = &kr->keys[kr->n_keys];
  int n = decode_secret(t[2].s, t[2].len, key->secret);
  if (n < 0)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: key k%" PRIu32 " is not valid base64",
                        ps->path, line, num);
  if (n != SC_KEY_LEN)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s:%u: key k%" PRIu32 " is %d bytes; it must be 32 "
                        "(base64 of 32 random bytes)", ps->path, line, num, n);
  key->num = num;
  key->line = line;
  snprintf(key->id, sizeof key->id, "k%" PRIu32, num);
  kr->n_keys++;
  return SC_OK;
}

static int parse_line(struct parse_state *ps, unsigned line, const char *p,
                      const char *end, struct sc_error *err) {
  struct token t[3];
  size_t nt = split_line(p, end, t, 3);
  if (nt == 0 || t[0].s[0] == '#') return SC_OK;
  if (t[0].len == 4 && !memcmp(t[0].s, "hmac", 4))
    return parse_hmac(ps, line, t, nt, err);
  if (t[0].len == 3 && !memcmp(t[0].s, "key", 3))
    return parse_key(ps, line, t, nt, err);
  return sc_error_set(err, SC_EINVAL, NULL,
                      "%s:%u: unknown entry \"%.*s\" (expected hmac or key)",
                      ps->path, line, (int)(t[0].len > 32 ? 32 : t[0].len),
                      t[0].s);
}

static int parse_keyring(const char *path, const char *buf, size_t len,
                         struct sc_keyring *kr, struct sc_error *err) {
  if (memchr(buf, '\0', len))
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s: keyring contains a NUL byte; is this the right "
                        "file?", path);
  struct parse_state ps = {.path = path, .kr = kr};
  const char *p = buf, *end = buf + len;
  for (unsigned line = 1; p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    int rc = parse_line(&ps, line, p, eol, err);
    if (rc != SC_OK) return rc;
    p = nl ? nl + 1 : end;
  }
  if (!ps.hmac_line)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s: no hmac line; the keyring is incomplete", path);
  if (kr->n_keys == 0)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "%s: no key line; a keyring needs at least one "
                        "\"key k1 <base64>\"", path);
  return SC_OK;
}

static int load_from_buffer(const char *path, const char *buf, size_t len,
                            struct sc_keyring **out, struct sc_error *err) {
  struct sc_keyring *kr = calloc(1, sizeof *kr);
  if (!kr || !(kr->path = strdup(path))) {
    free(kr);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  int rc = parse_keyring(path, buf, len, kr, err);
  if (rc != SC_OK) {
    sc_keyring_free(kr);
    return rc;
  }
  *out = kr;
  return SC_OK;
}

int sc_keyring_load(const char *path, struct sc_keyring **out,
                    struct sc_error *err) {
  *out = NULL;
  char *buf;
  size_t len;
  int rc = read_keyring_file(path, &buf, &len, err);
  if (rc != SC_OK) return rc;
  rc = load_from_buffer(path, buf, len, out, err);
  OPENSSL_cleanse(buf, len);
  free(buf);
  return rc;
}

/* ---- writing ------------------------------------------------------------ */

static int random_b64_secret(char out[B64_KEY_LEN + 1], struct sc_error *err) {
  unsigned char raw[SC_KEY_LEN];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return sc_error_set(err, SC_ECRYPTO, NULL,
                        "random generator failed; no key was written");
  EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  return SC_OK;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static int write_all(int fd, const char *data, size_t len) {
  while (len) {
    ssize_t w = write(fd, data, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Makes the new name durable: without this a crash right after rename can
** bring back the old directory entry. */
static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

/* Links a fully written temp file to path without ever replacing an
** existing file. renameat2 does it in one step; link is the fallback for
** file systems without RENAME_NOREPLACE. */
static int install_noreplace(const char *tmp, const char *path) {
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (link(tmp, path) != 0) return -1;
  unlink(tmp);
  return 0;
}

/* Writes data to a 0600 temp file next to path, fsyncs it and puts it in
** place: replacing path when replace is set, refusing otherwise. */
static int write_atomic(const char *path, const char *data, size_t len,
                        bool replace, struct sc_error *err) {
  size_t tlen = strlen(path) + sizeof ".tmp.XXXXXX";
  char *tmp = malloc(tlen);
  char *dir = dir_of(path);
  if (!tmp || !dir) {
    free(tmp);
    free(dir);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  snprintf(tmp, tlen, "%s.tmp.XXXXXX", path);
  int rc = SC_OK;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot create a file in %s: %s",
                      path, dir, strerror(errno));
    goto out;
  }
  if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 ||
      fsync(fd) != 0) {
    rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot write %s: %s", path, tmp,
                      strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  if (close(fd) != 0) {
    rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot write %s: %s", path, tmp,
                      strerror(errno));
    unlink(tmp);
    goto out;
  }
  int ok = replace ? rename(tmp, path) : install_noreplace(tmp, path);
  if (ok != 0) {
    int e = errno;
    unlink(tmp);
    if (e == EEXIST)
      rc = sc_error_set(err, SC_ESTATE, NULL,
                        "%s: keyring already exists; refusing to overwrite it",
                        path);
    else
      rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot install keyring: %s",
                        path, strerror(e));
    goto out;
  }
  fsync_dir(dir);
out:
  free(tmp);
  free(dir);
  return rc;
}

int sc_keyring_create(const char *path, struct sc_error *err) {
  struct stat st;
  if (lstat(path, &st) == 0)
    return sc_error_set(err, SC_ESTATE, NULL,
                        "%s: keyring already exists; refusing to overwrite it",
                        path);
  char hmac[B64_KEY_LEN + 1], key[B64_KEY_LEN + 1];
  char text[512];
  int rc = random_b64_secret(hmac, err);
  if (rc == SC_OK) rc = random_b64_secret(key, err);
  if (rc == SC_OK) {
    int n = snprintf(text, sizeof text,
                     "# sidecal master keyring. Keep it secret (mode 0600). "
                     "Never edit by hand.\n"
                     "# The hmac secret never changes; the last key is the "
                     "active one. Format: core/crypto.h\n"
                     "hmac %s\n"
                     "key k1 %s\n", hmac, key);
    rc = write_atomic(path, text, (size_t)n, false, err);
    OPENSSL_cleanse(text, sizeof text);
  }
  OPENSSL_cleanse(hmac, sizeof hmac);
  OPENSSL_cleanse(key, sizeof key);
  return rc;
}

/* Serialises rotations: the keyring file itself is replaced by rename, so
** the lock lives on its directory, which stays the same inode. */
static int lock_dir(const char *path, int *fd_out, struct sc_error *err) {
  char *dir = dir_of(path);
  if (!dir) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = SC_OK;
  if (fd < 0 || flock(fd, LOCK_EX) != 0) {
    rc = sc_error_set(err, SC_EIO, NULL, "%s: cannot lock directory %s: %s",
                      path, dir, strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  free(dir);
  *fd_out = fd;
  return rc;
}

static int append_key(const char *path, const char *buf, size_t len,
                      uint32_t num, struct sc_error *err) {
  char b64[B64_KEY_LEN + 1];
  int rc = random_b64_secret(b64, err);
  if (rc != SC_OK) return rc;
  size_t cap = len + 80;
  char *text = malloc(cap);
  if (!text) {
    OPENSSL_cleanse(b64, sizeof b64);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  memcpy(text, buf, len);
  size_t n = len;
  if (n && text[n - 1] != '\n') text[n++] = '\n';
  n += (size_t)snprintf(text + n, cap - n, "key k%" PRIu32 " %s\n", num, b64);
  rc = write_atomic(path, text, n, true, err);
  OPENSSL_cleanse(text, cap);
  OPENSSL_cleanse(b64, sizeof b64);
  free(text);
  return rc;
}

static uint32_t max_key_num(const struct sc_keyring *kr) {
  uint32_t max = 0;
  for (size_t i = 0; i < kr->n_keys; i++)
    if (kr->keys[i].num > max) max = kr->keys[i].num;
  return max;
}

int sc_keyring_add_key(const char *path, char *new_id, size_t idlen,
                       struct sc_error *err) {
  if (!new_id || idlen < SC_CRYPTO_KEY_ID_MAX)
    return sc_error_set(err, SC_EINVAL, NULL,
                        "key id buffer too small (%zu bytes; need %d)", idlen,
                        SC_CRYPTO_KEY_ID_MAX);
  /* Rotate the file a symlink points to, not replace the link with a copy. */
  struct stat st;
  char *real = NULL;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
      (real = realpath(path, NULL)) != NULL)
    path = real;
  int lockfd;
  int rc = lock_dir(path, &lockfd, err);
  if (rc != SC_OK) {
    free(real);
    return rc;
  }
  char *buf;
  size_t len;
  struct sc_keyring *kr = NULL;
  rc = read_keyring_file(path, &buf, &len, err);
  if (rc != SC_OK) goto out_lock;
  /* Validate before touching it: a rotation must never bless a broken file. */
  rc = load_from_buffer(path, buf, len, &kr, err);
  uint32_t next = 0;
  if (rc == SC_OK) {
    next = max_key_num(kr) + 1;
    if (next == 0)
      rc = sc_error_set(err, SC_ESTATE, NULL,
                        "%s: key numbers are exhausted (k4294967295 exists)",
                        path);
  }
  if (rc == SC_OK) rc = append_key(path, buf, len, next, err);
  if (rc == SC_OK) snprintf(new_id, idlen, "k%" PRIu32, next);
  sc_keyring_free(kr);
  OPENSSL_cleanse(buf, len);
  free(buf);
out_lock:
  close(lockfd);
  free(real);
  return rc;
}

/* ---- sidecalctl create-master-key -------------------------------------- */

static int exit_status(int rc) {
  return rc == SC_EINVAL || rc == SC_ESTATE ? 2 : 1;
}

int sc_cmd_create_master_key(int argc, char **argv) {
  bool if_missing = false;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--if-missing")) {
      if_missing = true;
    } else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "usage: sidecalctl create-master-key [--if-missing] "
                      "[PATH]\n");
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) path = getenv("SIDECAL_MASTER_KEY_FILE");
  if (!path || !*path) {
    fprintf(stderr, "sidecalctl create-master-key: no PATH given and "
                    "SIDECAL_MASTER_KEY_FILE is not set\n");
    return 2;
  }
  struct sc_error err = {0};
  struct stat st;
  if (if_missing && lstat(path, &st) == 0) {
    /* Existing keyring: make sure it is usable before the daemon needs it. */
    struct sc_keyring *kr;
    int rc = sc_keyring_load(path, &kr, &err);
    if (rc != SC_OK) {
      fprintf(stderr, "sidecalctl create-master-key: %s\n", err.message);
      return exit_status(rc);
    }
    printf("keyring %s exists (active key %s)\n", path,
           sc_keyring_active_id(kr));
    sc_keyring_free(kr);
    return 0;
  }
  int rc = sc_keyring_create(path, &err);
  if (rc != SC_OK) {
    fprintf(stderr, "sidecalctl create-master-key: %s\n", err.message);
    return exit_status(rc);
  }
  printf("created keyring %s (active key k1)\n", path);
  return 0;
}
