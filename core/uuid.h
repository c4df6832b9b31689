/* UUID text checks: ids in URLs are validated before they reach SQL, so a
** malformed id answers 404 like any id that does not exist. */
#ifndef SC_UUID_H
#define SC_UUID_H

int sc_uuid_valid(const char *s);

#endif
