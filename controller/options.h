/* options — flinkpg-controller's options table (config.h). */
#ifndef FLINKPG_CONTROLLER_OPTIONS_H
#define FLINKPG_CONTROLLER_OPTIONS_H

#include "../common/config.h"

#include <stddef.h>

extern cfg_opt controller_options[];
extern const size_t controller_noptions;

#endif
