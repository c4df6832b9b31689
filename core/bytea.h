/*
** bytea values as PostgreSQL's hex text ("\\x0a1b..."), the form every
** parameterised query here passes binary data in.
*/
#ifndef SC_BYTEA_H
#define SC_BYTEA_H

#include <stddef.h>

/* malloc'd "\\x" + 2n hex digits; NULL when out of memory. */
char *sc_bytea_hex(const unsigned char *p, size_t n);

#endif
