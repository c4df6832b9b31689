/*
** sidecalctl commands that work on the database:
**   migrate               apply missing migrations (SIDECAL_DATABASE_URL)
**   rotate-master-key     add a key to SIDECAL_MASTER_KEY_FILE and re-encrypt
**                         every stored secret with it
*/
#ifndef SC_CTL_DB_H
#define SC_CTL_DB_H

int sc_cmd_migrate(int argc, char **argv);
int sc_cmd_rotate_master_key(int argc, char **argv);

#endif
