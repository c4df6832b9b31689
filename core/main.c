/*
** sidecald: the daemon. Startup order and shutdown live in daemon.c once the
** HTTP server lands; for now it only reports its version.
*/
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("sidecald %s\n", "0.1.0");
    return 0;
  }
  fprintf(stderr, "sidecald: not wired up yet\n");
  return 1;
}
