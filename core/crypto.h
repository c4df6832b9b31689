/*
** Secrets at rest: a master keyring file (core/keyring.c) and AES-256-GCM
** blobs (core/crypto.c).
**
** Keyring file (path from SIDECAL_MASTER_KEY_FILE in production; every
** function here takes the path explicitly). Text, one entry per line:
**
**   # sidecal master keyring. Keep it secret (mode 0600). Never edit by hand.
**   hmac <base64 of 32 random bytes>
**   key k1 <base64 of 32 random bytes>
**   key k2 <base64 of 32 random bytes>
**
**   - Lines starting with '#' (after optional blanks) and blank lines are
**     ignored; no trailing comments on hmac/key lines.
**   - Exactly one "hmac" line. Its secret never changes across rotations,
**     because stored seed hashes (sc_crypto_seed_hash) depend on it.
**   - One or more "key" lines. Ids are "k" + a decimal number 1..4294967295
**     with no leading zero, unique in the file. The LAST key line is the
**     active one: encryption uses it; every key decrypts.
**   - The file must not be readable or writable by group or others; load
**     refuses it otherwise (a leaked keyring decrypts every secret).
**
** Blob (what sc_crypto_encrypt returns and the database stores), version 1:
**
**   offset 0   1 byte   format version, 0x01
**   offset 1   4 bytes  key number, big-endian (k7 is 00 00 00 07)
**   offset 5   12 bytes GCM nonce, fresh from RAND_bytes for every blob
**   offset 17  n bytes  ciphertext (same length as the plaintext)
**   offset 17+n 16 bytes GCM tag
**
** GCM authenticates the 5 header bytes followed by the caller's AAD, so a
** blob only decrypts with the header and AAD it was made with. Callers pass
** the row's identity as AAD (e.g. "org-uuid/instance-uuid/name"), so a blob
** copied to another row fails authentication instead of being used.
**
** Failures return SC_ECRYPTO (tampering, unknown key, bad version, random
** generator or OpenSSL failure), SC_EIO (file access), SC_EINVAL (bad
** keyring syntax, bad arguments), SC_ESTATE (create over an existing file,
** keyring readable by others), SC_ENOMEM. Messages name the file and line
** for keyring problems. No function ever returns partial plaintext.
**
** A loaded keyring is immutable and may be shared between threads.
*/
#ifndef SC_CRYPTO_H
#define SC_CRYPTO_H

#include <stddef.h>

#include "error.h"

#define SC_CRYPTO_BLOB_VERSION 1
#define SC_CRYPTO_HEADER_LEN 17      /* version + key number + nonce */
#define SC_CRYPTO_TAG_LEN 16
#define SC_CRYPTO_BLOB_OVERHEAD (SC_CRYPTO_HEADER_LEN + SC_CRYPTO_TAG_LEN)
#define SC_CRYPTO_KEY_ID_MAX 12      /* "k4294967295" plus NUL */
#define SC_CRYPTO_HASH_LEN 32

struct sc_keyring;

/* Creates a new keyring at path with a fresh hmac secret and key k1, mode
** 0600, atomically (temp file in the same directory, fsync, link). Refuses
** with SC_ESTATE when path already exists, leaving it untouched. */
int sc_keyring_create(const char *path, struct sc_error *err);

/* Reads and validates the keyring. On success *out owns the key material;
** release it with sc_keyring_free. On failure *out is NULL. */
int sc_keyring_load(const char *path, struct sc_keyring **out,
                    struct sc_error *err);

/* Wipes the key material and frees. NULL is allowed. */
void sc_keyring_free(struct sc_keyring *kr);

/* Appends a new key (number one above the highest present) as the active
** key, keeping every old key so existing blobs still decrypt until they are
** re-encrypted. Atomic (temp file + fsync + rename); the rest of the file,
** comments included, is kept byte for byte. Writes the new id into new_id
** (idlen >= SC_CRYPTO_KEY_ID_MAX is always enough). Holds an flock on the
** keyring's directory so two concurrent rotations cannot lose a key. A
** symlinked path rotates the link's target and keeps the link.
** Keyrings already loaded keep their old view: reload after this. */
int sc_keyring_add_key(const char *path, char *new_id, size_t idlen,
                       struct sc_error *err);

/* Id of the active (last) key, e.g. "k2". Valid while kr lives. */
const char *sc_keyring_active_id(const struct sc_keyring *kr);

/* Number of keys in the keyring. */
size_t sc_keyring_key_count(const struct sc_keyring *kr);

/* Encrypts n bytes of plain with the active key. On success *out is a
** malloc'd blob of *out_n = n + SC_CRYPTO_BLOB_OVERHEAD bytes (free()).
** plain may be NULL when n is 0; aad may be NULL when aad_n is 0. */
int sc_crypto_encrypt(const struct sc_keyring *kr, const void *plain,
                      size_t n, const void *aad, size_t aad_n,
                      unsigned char **out, size_t *out_n,
                      struct sc_error *err);

/* Verifies and decrypts a blob made with the same aad. On success *plain is
** malloc'd, *plain_n bytes long plus a NUL terminator that is not counted
** (secrets are usually text); release it with sc_crypto_free_secret. On any
** failure *plain is NULL, *plain_n is 0 and nothing decrypted is left in
** memory. Messages (exact, for tests and operators):
**   ciphertext is truncated (N bytes; a valid one has at least 33)
**   unsupported ciphertext format version V (this build reads version 1)
**   unknown key id "kN": keyring PATH has no such key; is it complete?
**   ciphertext failed authentication (tampered or wrong row) */
int sc_crypto_decrypt(const struct sc_keyring *kr, const unsigned char *blob,
                      size_t n, const void *aad, size_t aad_n,
                      unsigned char **plain, size_t *plain_n,
                      struct sc_error *err);

/* Writes the id of the key a blob was encrypted with ("k1") into id, so a
** rotation can re-encrypt only blobs whose key is not the active one. Does
** not authenticate the blob. SC_ECRYPTO when the blob is too short or of
** another format version, SC_EINVAL when idlen is too small. */
int sc_crypto_blob_key_id(const unsigned char *blob, size_t n, char *id,
                          size_t idlen);

/* HMAC-SHA256, keyed by the keyring's hmac secret, of a fixed domain label
** followed by data. Lets the store notice that a configured secret changed
** without keeping it in clear. Stable across sc_keyring_add_key. Equal data
** gives equal hashes: include the row identity in data if that matters. */
int sc_crypto_seed_hash(const struct sc_keyring *kr, const void *data,
                        size_t n, unsigned char out[SC_CRYPTO_HASH_LEN]);

/* Fills out with size-1 random characters from the URL-safe base64 alphabet
** (6 bits each: 22 characters carry 132 bits) and a NUL. For API keys. */
int sc_crypto_random_token(char *out, size_t size);

/* Plain SHA-256, e.g. of an API key (high-entropy tokens need no salt). */
int sc_crypto_sha256(const void *data, size_t n,
                     unsigned char out[SC_CRYPTO_HASH_LEN]);

/* Wipes n bytes (OPENSSL_cleanse) and frees p. NULL is allowed. */
void sc_crypto_free_secret(void *p, size_t n);

/* sidecalctl create-master-key [--if-missing] [PATH]: creates a keyring at
** PATH, or at $SIDECAL_MASTER_KEY_FILE when PATH is omitted. Exit 2 when
** the file already exists or no path is given. With --if-missing an
** existing keyring is loaded instead (exit 0 when valid, 2 with the load
** error otherwise), so scripts/run can call it on every start. */
int sc_cmd_create_master_key(int argc, char **argv);

#endif
