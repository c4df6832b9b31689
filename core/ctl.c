/* sidecalctl: the admin CLI; all commands are in the core library. */
#include "ctl_cmds.h"

int main(int argc, char **argv) { return sc_cmd_dispatch(argc, argv); }
