/* sidecald: everything is in the core library (daemon.c). */
#include "daemon.h"

int main(int argc, char **argv) { return sc_daemon_main(argc, argv); }
