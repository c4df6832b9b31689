/*
** How this process names itself in shared state: "host:pid". Leases, job
** claims and daemon records use it, so an operator can tell which sidecald
** holds what.
*/
#ifndef SC_PROCESS_NAME_H
#define SC_PROCESS_NAME_H

#include <stddef.h>

/* given when non-NULL (tests name their workers), else "host:pid". */
void sc_process_name(char *buf, size_t n, const char *given);

#endif
