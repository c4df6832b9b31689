/*
** sidecald's life cycle: options, start-up checks in order (config, schema,
** keyring, application role, config apply, HTTP), signal handling and a
** clean drain on SIGINT/SIGTERM. Returns the process exit status: 0 after a
** clean stop, 2 for bad options or configuration, 1 for environment errors
** (database unreachable, schema too new, privileged role, port in use).
*/
#ifndef SC_DAEMON_H
#define SC_DAEMON_H

int sc_daemon_main(int argc, char **argv);

#endif
