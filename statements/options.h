/* options — flinkpg-statements' options table (config.h). */
#ifndef FLINKPG_STATEMENTS_OPTIONS_H
#define FLINKPG_STATEMENTS_OPTIONS_H

#include "../common/config.h"

#include <stddef.h>

extern cfg_opt statements_options[];
extern const size_t statements_noptions;

#endif
