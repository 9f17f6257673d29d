/* short_plugin.c — ops tables that lack what the host calls, built against the
 * frozen ABI 1 headers: an objective whose struct_size stops before apply(),
 * and a matcher whose decide() is NULL. Each is refused at registration,
 * named; the file's good reader still registers. */
#include <stddef.h>

#include "mto/plugin.h"

static int read_none(const mto_host *host, const char *path, const mto_options *opts,
                     mto_record_sink *sink, mto_error *err)
{
    (void)host, (void)path, (void)opts, (void)sink, (void)err;
    return 0;
}

static const mto_objective_ops short_obj = {offsetof(mto_objective_ops, apply), NULL, NULL, NULL};
static const mto_matcher_ops no_decide = {sizeof(mto_matcher_ops), NULL, NULL, NULL};
static const mto_reader_ops reader = {sizeof(mto_reader_ops), read_none};

static const mto_plugin_desc descs[] = {
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_OBJECTIVE, "short_objective", "1", "table ends before apply", &short_obj},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_MATCHER, "short_matcher", "1", "decide is NULL", &no_decide},
    {MTO_PLUGIN_DESC_HEADER, MTO_KIND_READER, "short_reader", "1", "a good one", &reader},
};

MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg, mto_error *err)
{
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
        host->register_plugin(reg, &descs[i], err); /* a refusal is recorded; keep going */
    return 0;
}
