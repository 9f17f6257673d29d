/* init_fails.c — its entry point reports an error; the host must refuse it
 * and keep the message. */
#include "mto/plugin.h"

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    (void)reg;
    return host->error(err, MTO_EPLUGIN, "needs a licence file that is not there");
}
