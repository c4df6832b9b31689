/*
** sidecalctl subcommands. Each returns the process exit status: 0 success,
** 2 bad input (message on stderr), 1 internal or environment error.
** They live in the core library so tests can call them in-process.
*/
#ifndef SC_CTL_CMDS_H
#define SC_CTL_CMDS_H

int sc_cmd_dispatch(int argc, char **argv);

#endif
