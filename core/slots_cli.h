/*
** `sidecalctl slots`: one JSON document on stdin (format in docs/slots.md)
** -> the availability engine -> {"slots":[{"start":..,"end":..},..]} on
** stdout. This layer only converts JSON to engine structs and back; every
** rule of availability lives in availability.c.
**
** sc_slots_run returns the exit status: 0 with the slots written to out;
** 2 for bad input with exactly one line "<json path>: <message>" on err and
** nothing on out; 1 for internal errors ("slots: <message>" on err).
*/
#ifndef SC_SLOTS_CLI_H
#define SC_SLOTS_CLI_H

#include <stdio.h>

int sc_slots_run(FILE *in, FILE *out, FILE *err);
int sc_cmd_slots(int argc, char **argv);

#endif
