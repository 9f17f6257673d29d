/* test_registry.c — plugin loading: a good plugin loads and runs; a wrong ABI,
 * a missing entry symbol, a duplicate name and a failing init are each refused
 * with a message naming the file and the reason, and the others keep working. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "tap.h"

static char path[4096];

static const char *plugin(const char *name)
{
    snprintf(path, sizeof path, "%s/tests/plugins/.libs/%s.so", getenv("MTO_BUILDDIR"), name);
    return path;
}

static int has_problem(const char *file_part, const char *reason_part)
{
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) {
        const char *p = mto_plugin_problem_at(i);
        if (strstr(p, file_part) && strstr(p, reason_part)) return 1;
    }
    return 0;
}

int main(void)
{
    mto_error err;
    if (!getenv("MTO_BUILDDIR")) {
        printf("1..0 # SKIP MTO_BUILDDIR not set (run through make check)\n");
        return 0;
    }

    /* good plugin: loads, is found, and runs through the host table */
    mto_error_clear(&err);
    is_int(mto_plugin_load_file(plugin("good"), &err), 0, "good plugin loads");
    const mto_plugin_desc *d = mto_plugin_find(MTO_KIND_OBJECTIVE, "test_copy");
    ok(d != NULL, "good plugin registered objective 'test_copy'");
    ok(mto_plugin_find(MTO_KIND_TEMPLATE, "test_copy") == NULL, "lookup is by kind and name");
    if (d) {
        const mto_objective_ops *ops = d->ops;
        int32_t text[] = {5, 6, 7};
        mto_objective_io io = {.struct_size = sizeof io, .text = text, .text_len = 3, .eos_id = 1,
                               .sentinel0 = 99, .n_sentinels = 100};
        mto_ids in, tg;
        mto_ids_init(&in);
        mto_ids_init(&tg);
        mto_rng rng;
        mto_rng_seed(&rng, 1);
        is_int(ops->apply(NULL, &io, &rng, &in, &tg, &err), 0, "plugin apply succeeds");
        is_int(in.len, 3, "input has 3 ids");
        is_int(tg.len, 4, "target has 3 ids + eos");
        is_int(tg.len == 4 ? tg.data[3] : -1, 1, "target ends with eos");
        mto_ids_free(&in);
        mto_ids_free(&tg);
    }
    is_int(mto_plugin_load_file(plugin("good"), &err), 0, "loading the same file twice is a no-op");
    is_int(mto_plugin_count(), 1, "still one descriptor");

    /* wrong ABI */
    mto_error_clear(&err);
    ok(mto_plugin_load_file(plugin("bad_abi"), &err) != 0, "future-ABI plugin refused");
    ok(strstr(err.msg, "bad_abi.so") && strstr(err.msg, "ABI version 99"), "message names file and ABI: %s", err.msg);
    ok(mto_plugin_find(MTO_KIND_OBJECTIVE, "test_future") == NULL, "future-ABI descriptor not registered");

    /* missing entry symbol */
    mto_error_clear(&err);
    ok(mto_plugin_load_file(plugin("no_entry"), &err) == MTO_EABI, "file without entry symbol refused");
    ok(strstr(err.msg, "no_entry.so") && strstr(err.msg, "missing entry symbol mto_plugin_init"),
       "message names file and symbol: %s", err.msg);

    /* duplicate name: refused, the file's other descriptor still registers */
    mto_error_clear(&err);
    ok(mto_plugin_load_file(plugin("duplicate"), &err) != 0, "duplicate name reported");
    ok(strstr(err.msg, "duplicate.so") && strstr(err.msg, "duplicate objective name 'test_copy'") &&
           strstr(err.msg, "good.so"),
       "message names both files: %s", err.msg);
    ok(mto_plugin_find(MTO_KIND_OBJECTIVE, "test_fresh") != NULL, "the file's other plugin still loads");
    d = mto_plugin_find(MTO_KIND_OBJECTIVE, "test_copy");
    is_str(d ? d->version : NULL, "0.1", "the first 'test_copy' is kept");

    /* init failure */
    mto_error_clear(&err);
    ok(mto_plugin_load_file(plugin("init_fails"), &err) != 0, "failing init refused");
    ok(strstr(err.msg, "init_fails.so") && strstr(err.msg, "licence file"), "plugin's message kept: %s", err.msg);

    /* not a shared object at all */
    mto_error_clear(&err);
    snprintf(path, sizeof path, "%s/tests/test_registry.c", getenv("MTO_SRCDIR"));
    ok(mto_plugin_load_file(path, &err) != 0 && strstr(err.msg, "cannot load"), "non-ELF file refused: %s", err.msg);
    ok(mto_plugin_load_file("/nonexistent/x.so", &err) == MTO_EIO, "missing file refused");

    /* problems are all listed, registry still usable */
    ok(has_problem("bad_abi.so", "ABI"), "problem list has the ABI refusal");
    ok(has_problem("no_entry.so", "entry symbol"), "problem list has the missing symbol");
    ok(has_problem("duplicate.so", "duplicate"), "problem list has the duplicate");
    ok(has_problem("init_fails.so", "initialisation failed"), "problem list has the init failure");
    is_int(mto_plugin_count(), 2, "two good descriptors registered");

    mto_error_clear(&err);
    ok(mto_plugin_require(MTO_KIND_OBJECTIVE, "nope", &err) == NULL && strstr(err.msg, "no objective plugin named 'nope'") &&
           strstr(err.msg, "test_copy"),
       "require names what is available: %s", err.msg);

    is_str(mto_kind_name(MTO_KIND_TOKENIZER), "tokenizer", "kind names");
    is_int(mto_kind_from_name("reader"), MTO_KIND_READER, "kind from name");
    return tap_done();
}
