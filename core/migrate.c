/* Schema migrations (see migrate.h). */
#include "migrate.h"
