/*
** Error contract for the whole core.
**
** Every fallible function returns an int status: SC_OK (0) on success or a
** negative SC_E* code, and fills the caller's struct sc_error (which may be
** NULL) with a message a human can act on: file:line:col for configuration,
** the field name for API input. Nothing in the core aborts on bad input.
*/
#ifndef SC_ERROR_H
#define SC_ERROR_H

#include <stddef.h>

enum sc_status {
  SC_OK = 0,
  SC_EINVAL = -1,     /* bad input: config, API body, CLI arguments */
  SC_ENOTFOUND = -2,  /* no such row (or not visible to the caller) */
  SC_ECONFLICT = -3,  /* uniqueness, overlap, stale version */
  SC_EDB = -4,        /* database unreachable or query failed */
  SC_EIO = -5,        /* file or network I/O */
  SC_ECRYPTO = -6,    /* tampered ciphertext, unknown key id */
  SC_ENOMEM = -7,
  SC_ESTATE = -8,     /* refused in this state (schema too new, bad role) */
  SC_EINTERNAL = -9,
  SC_EPRECONDITION = -10  /* If-Match no longer matches (HTTP 412) */
};

struct sc_error {
  int code;
  char field[128];     /* JSON path or key path, "" when not applicable */
  char message[1024];
  char kind[48];       /* machine code for API clients ("slot_taken"), or "" */
};

/* Sets err (when non-NULL) and returns code, so callers can write
** `return sc_error_set(err, SC_EINVAL, "field", "...", ...);` */
int sc_error_set(struct sc_error *err, int code, const char *field,
                 const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sc_error_clear(struct sc_error *err);
/* Tags an error already set with a machine-readable API code; returns its
** code so it can end a `return` statement. */
int sc_error_kind(struct sc_error *err, const char *kind);
const char *sc_status_name(int code);

#endif
