/* test_abi_forward.c — "a plugin built against ABI N runs on any host >= N".
 *
 * This program is a test build of the host: libmto's plugin sources compiled
 * with MTO_ABI_TEST_GROWN, which appends describe() to mto_objective_ops the
 * way a later ABI would. old_plugin.so was compiled against the frozen ABI 1
 * headers (tests/abi/v1), so its tables are shorter than this host's; it must
 * still load, and every kind must run through the C API (mto/objective.h,
 * ...). new_plugin.so, compiled against the grown header, shows the host does
 * read the new member where the plugin has it. The built-in plugins, compiled
 * against today's header, load too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "mto/matcher.h"
#include "mto/objective.h"
#include "mto/reader.h"
#include "mto/template.h"
#include "mto/tokenizer.h"
#include "tap.h"

static const char *plugin(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/tests/abi/.libs/%s.so", getenv("MTO_BUILDDIR"), name);
    return path;
}

static void objective(const char *name, const char *described)
{
    mto_error err = {0};
    mto_objective *obj = NULL;
    if (!ok(mto_objective_open(name, NULL, &obj, &err) == 0, "%s opens: %s", name, err.msg)) return;
    int32_t text[] = {5, 6, 7};
    mto_objective_io io = {.struct_size = sizeof io, .text = text, .text_len = 3, .eos_id = 1,
                           .sentinel0 = 99, .n_sentinels = 10};
    mto_ids in, tg;
    mto_ids_init(&in);
    mto_ids_init(&tg);
    mto_rng rng;
    mto_rng_seed(&rng, 1);
    ok((mto_objective_apply(obj, &io, &rng, &in, &tg, &err)) == 0, "%s applies", name);
    ok(in.len == 3 && in.data[0] == 5 && in.data[2] == 7, "%s input is the text", name);
    ok(tg.len == 4 && tg.data[0] == 7 && tg.data[2] == 5 && tg.data[3] == 1, "%s target is reversed + eos", name);
    mto_text t;
    mto_text_init(&t);
    mto_error_clear(&err);
    int rc = mto_objective_describe(obj, &t, &err);
    if (described)
        ok(rc == 0 && t.data && strcmp(t.data, described) == 0, "%s: the host reads its describe()", name);
    else
        ok(rc == MTO_ENOTFOUND && strstr(err.msg, "built without describe"),
           "%s: the host does not read past its shorter table: %s", name, err.msg);
    mto_text_free(&t);
    mto_ids_free(&in);
    mto_ids_free(&tg);
    mto_objective_free(obj);
}

int main(void)
{
    if (!getenv("MTO_BUILDDIR")) {
        printf("1..0 # SKIP MTO_BUILDDIR not set (run through make check)\n");
        return 0;
    }
    ok(sizeof(mto_objective_ops) == offsetof(mto_objective_ops, describe) + sizeof(void *),
       "this host's mto_objective_ops has the appended member");

    mto_error err = {0};
    ok((mto_plugin_load_file(plugin("old_plugin"), &err)) == 0, "ABI 1 plugin loads on the grown host: %s", err.msg);
    ok((mto_plugin_load_file(plugin("new_plugin"), &err)) == 0, "plugin built with the new member loads: %s", err.msg);
    is_int(mto_plugins_load_all(&err), 0, "built-in plugins load");
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) tap_diag("problem: %s", mto_plugin_problem_at(i));
    is_int((int)mto_plugin_problem_count(), 0, "no plugin was refused");
    ok(mto_plugin_find(MTO_KIND_OBJECTIVE, "mapping") != NULL, "built-in objective 'mapping' registered");

    objective("abi1_objective", NULL);
    objective("abi2_objective", "reverses its text");

    /* reader */
    mto_record_sink sink;
    mto_sink_init(&sink);
    mto_error_clear(&err);
    ok((mto_reader_read("abi1_reader", "in.txt", NULL, &sink, &err)) == 0, "reader runs: %s", err.msg);
    ok(sink.len == 2 && strcmp(mto_record_get(sink.items[1], "x"), "second") == 0 &&
           strcmp(mto_record_get(sink.items[0], "path"), "in.txt") == 0,
       "reader emitted its two records");
    is_int((int)mto_sink_get_count(&sink, "emitted"), 2, "reader's counter arrives");
    mto_sink_free(&sink);
    mto_error_clear(&err);
    ok(mto_reader_read("no_such_reader", "in.txt", NULL, &sink, &err) == MTO_ENOTFOUND &&
           strstr(err.msg, "no reader plugin named 'no_such_reader'"),
       "unknown reader: %s", err.msg);
    mto_sink_free(&sink);

    /* template (its destroy() is NULL: no state to free) */
    mto_options *o = mto_options_new();
    mto_options_set(o, "prefix", "say: ");
    mto_template *tpl = NULL;
    mto_error_clear(&err);
    ok((mto_template_open("abi1_template", o, &tpl, &err)) == 0, "template opens: %s", err.msg);
    mto_record *r = mto_record_new();
    mto_record_set(r, "x", "hello", (size_t)-1);
    mto_text in, tg;
    mto_text_init(&in);
    mto_text_init(&tg);
    is_int(tpl ? mto_template_render(tpl, r, &in, &tg, &err) : -1, 0, "template renders");
    ok(in.data && strcmp(in.data, "say: hello") == 0 && tg.data && strcmp(tg.data, "hello") == 0,
       "template output from its options");
    ok(tpl && mto_template_flags(tpl) == MTO_TEMPLATE_MASKED, "template flags");
    mto_record *empty = mto_record_new();
    mto_error_clear(&err);
    ok(tpl && mto_template_render(tpl, empty, &in, &tg, &err) == MTO_EINVAL && strstr(err.msg, "no field 'x'"),
       "template error comes back: %s", err.msg);
    mto_template_free(tpl);
    mto_record_free(empty);
    mto_text_free(&in);
    mto_text_free(&tg);

    /* matcher (no create/destroy) */
    mto_matcher *m = NULL;
    is_int(mto_matcher_open("abi1_matcher", NULL, &m, &err), 0, "matcher opens");
    mto_record_set(r, "relation", "xIntent", (size_t)-1);
    mto_text fam, why;
    mto_text_init(&fam);
    mto_text_init(&why);
    is_int(m ? mto_matcher_decide(m, r, &fam, &why, &err) : -1, 0, "matcher decides");
    ok(fam.data && strcmp(fam.data, "mapping") == 0 && why.data && strcmp(why.data, "has a relation") == 0,
       "matcher's family and reason");
    mto_matcher_free(m);
    mto_text_free(&fam);
    mto_text_free(&why);
    mto_record_free(r);
    mto_options_free(o);

    /* tokenizer */
    mto_tokenizer *tok = NULL;
    mto_error_clear(&err);
    ok((mto_tokenizer_open_with("abi1_tokenizer", "unused.model", &tok, &err)) == 0, "tokenizer opens: %s", err.msg);
    mto_ids ids;
    mto_ids_init(&ids);
    mto_text back;
    mto_text_init(&back);
    ok(tok && mto_tokenizer_encode(tok, "ab", 2, &ids, &err) == 0 && ids.len == 2 && ids.data[0] == 'a' + 3,
       "tokenizer encodes");
    ok(tok && mto_tokenizer_decode(tok, ids.data, ids.len, &back, &err) == 0 && back.data &&
           strcmp(back.data, "ab") == 0,
       "tokenizer decodes");
    ok(tok && mto_tokenizer_vocab_size(tok) == 359, "tokenizer vocab size");
    mto_ids_free(&ids);
    mto_text_free(&back);
    mto_tokenizer_free(tok);

    /* a table without what the host calls is refused once, at registration, named */
    mto_error_clear(&err);
    ok(mto_plugin_load_file(plugin("short_plugin"), &err) != 0, "a plugin with incomplete tables is reported");
    int short_obj = 0, short_match = 0;
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) {
        const char *p = mto_plugin_problem_at(i);
        short_obj |= strstr(p, "short_plugin.so") && strstr(p, "objective 'short_objective'") && strstr(p, "lacks apply()");
        short_match |= strstr(p, "matcher 'short_matcher'") && strstr(p, "lacks decide()") != NULL;
    }
    ok(short_obj, "an objective table that ends before apply() is refused, naming file, plugin and function");
    ok(short_match, "a matcher with a NULL decide() is refused, naming it");
    ok(!mto_plugin_find(MTO_KIND_OBJECTIVE, "short_objective") && mto_plugin_find(MTO_KIND_READER, "short_reader"),
       "the refused ones are not registered, the file's good one is");
    mto_plugins_reset();
    return tap_done();
}
