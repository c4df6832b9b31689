/* UUID text validation (8-4-4-4-12 hex digits). */
#include "uuid.h"

#include <ctype.h>

int sc_uuid_valid(const char *s) {
  if (!s) return 0;
  for (int i = 0; i < 36; i++) {
    int dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
  }
  return s[36] == '\0';
}
