/*
** The process's name in shared state (see process_name.h).
*/
#include "process_name.h"

#include <stdio.h>
#include <unistd.h>

void sc_process_name(char *buf, size_t n, const char *given) {
  if (given) {
    snprintf(buf, n, "%s", given);
    return;
  }
  char host[64] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
  snprintf(buf, n, "%s:%ld", host, (long)getpid());
}
