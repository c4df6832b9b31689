/*
** The keyring's raw key material, for core/crypto.c only. Every other
** module goes through crypto.h so key bytes never travel further.
*/
#ifndef SC_KEYRING_INTERNAL_H
#define SC_KEYRING_INTERNAL_H

#include <stdint.h>

#include "crypto.h"

#define SC_KEY_LEN 32

/* Key bytes for key number num, or NULL when the keyring lacks it. */
const unsigned char *sc_keyring_key(const struct sc_keyring *kr, uint32_t num);
/* The active key's number and bytes. */
const unsigned char *sc_keyring_active_key(const struct sc_keyring *kr,
                                           uint32_t *num);
const unsigned char *sc_keyring_hmac_secret(const struct sc_keyring *kr);
/* The path the keyring was loaded from, for messages. */
const char *sc_keyring_path(const struct sc_keyring *kr);

#endif
