/* bad_abi.c — claims an ABI from the future; the host must refuse it. */
#include "mto/plugin.h"

static const mto_objective_ops ops = {.struct_size = sizeof(mto_objective_ops)};
static const mto_plugin_desc desc = {
    MTO_ABI_VERSION + 98, sizeof(mto_plugin_desc), MTO_KIND_OBJECTIVE, "test_future", "9.9", "from the future", &ops,
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    return host->register_plugin(reg, &desc, err);
}
