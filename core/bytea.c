/*
** bytea hex text (see bytea.h).
*/
#include "bytea.h"

#include <stdlib.h>

char *sc_bytea_hex(const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(2 * n + 3);
  if (!s) return NULL;
  s[0] = '\\';
  s[1] = 'x';
  for (size_t i = 0; i < n; i++) {
    s[2 + 2 * i] = digits[p[i] >> 4];
    s[3 + 2 * i] = digits[p[i] & 15];
  }
  s[2 * n + 2] = '\0';
  return s;
}
