/* version.c: mc_version() (mcore/version.h). */
#include "mcore/version.h"

const char *mc_version(void)
{
    return MC_VERSION_STRING;
}
