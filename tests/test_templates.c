/* test_templates.c — golden tests for every template family: a table of
 * (template, options, record) -> (input text, target text), then the flags,
 * then bad input (missing field, unknown relation, no mask slot, bad answer). */
#include <stdlib.h>
#include <string.h>

#include "mto/host.h"
#include "tap.h"

#define MAXF 16

typedef struct {
    const char *tmpl;
    const char *opts[8];     /* key, value, ..., NULL */
    const char *rec[MAXF];   /* field, value, ..., NULL */
    const char *input, *target;
} golden;

#define ATOMIC "head", "PersonX applies for jobs", "relation", "xIntent", "tail", "to afford food and rent"
#define WN "head", "oak", "relation", "hypernym", "tail", "tree"
#define QA "question", "Where do you keep milk?", "choice1", "garage", "choice2", "fridge", \
           "choice3", "shoe", "answer", "B"
#define QAOPTS "garage choice2: fridge choice3: shoe"

static const golden cases[] = {
    /* the four families of DESIGN.md §5 on the paper's example */
    {"mapping", {NULL}, {ATOMIC}, "PersonX applies for jobs", "to afford food and rent"},
    {"masked_mapping", {NULL}, {ATOMIC}, "PersonX applies for jobs <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    {"prompting", {NULL}, {ATOMIC}, "PersonX applies for jobs because PersonX intended",
     "to afford food and rent"},
    {"masked_prompting", {NULL}, {ATOMIC},
     "PersonX applies for jobs because PersonX intended <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    /* task prefix, literal and from the relation */
    {"mapping", {"prefix", "xIntent: ", NULL}, {ATOMIC}, "xIntent: PersonX applies for jobs",
     "to afford food and rent"},
    {"masked_prompting", {"task_prefix", "1", NULL}, {ATOMIC},
     "xIntent: PersonX applies for jobs because PersonX intended <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    /* phrases with {head} placement */
    {"prompting", {NULL}, {"head", "PersonX applies for jobs", "relation", "xNeed", "tail", "x"},
     "PersonX applies for jobs. Before that, PersonX needed", "x"},
    {"prompting", {NULL}, {"head", "a fork", "relation", "AtLocation", "tail", "the kitchen"},
     "you are likely to find a fork in", "the kitchen"},
    {"masked_prompting", {NULL}, {WN}, "oak is a kind of <extra_id_0>", "<extra_id_0> tree"},
    {"prompting", {NULL}, {"head", "leaf", "relation", "part holonym", "tail", "tree"},
     "leaf is part of", "tree"},
    {"prompting", {NULL}, {"head", "hot", "relation", "antonym", "tail", "cold"},
     "hot is the opposite of", "cold"},
    {"prompting", {NULL}, {"head", "X", "relation", "HasSubevent", "tail", "y"}, "X includes", "y"},
    /* overrides: per relation, for all, for a new relation, with other fields */
    {"prompting", {"phrase.xIntent", "so that", NULL}, {ATOMIC}, "PersonX applies for jobs so that",
     "to afford food and rent"},
    {"prompting", {"phrase", "{head} ->", NULL}, {"head", "h", "tail", "t"}, "h ->", "t"},
    {"masked_prompting", {"phrases", "SynonymOf={head} means the same as|Other=x", NULL},
     {"head", "big", "relation", "SynonymOf", "tail", "large"}, "big means the same as <extra_id_0>",
     "<extra_id_0> large"},
    {"prompting", {"prefix", "[{group}] ", NULL},
     {"head", "oak", "relation", "hypernym", "tail", "tree", "group", "noun"},
     "[noun] oak is a kind of", "tree"},
    /* braces that are not placeholders stay literal */
    {"prompting", {"phrase", "{head} {not a field} {} {", NULL}, {"head", "h", "tail", "t"},
     "h {not a field} {} {", "t"},
    /* prompt tuning: the text only; soft tokens are the host's */
    {"pre_pt", {NULL}, {ATOMIC}, "PersonX applies for jobs", "to afford food and rent"},
    {"masked_pre_pt", {NULL}, {ATOMIC}, "PersonX applies for jobs <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    {"post_pt", {NULL}, {WN}, "oak", "tree"},
    {"masked_post_pt", {NULL}, {WN}, "oak <extra_id_0>", "<extra_id_0> tree"},
    {"masked_post_pt", {"with_phrase", "1", NULL}, {WN}, "oak is a kind of <extra_id_0>",
     "<extra_id_0> tree"},
    /* multiple-choice QA */
    {"mc_mapping", {NULL}, {QA}, "Where do you keep milk? choice1: " QAOPTS, "choice2"},
    {"answer_prompting", {NULL}, {QA}, "Where do you keep milk? choice1: " QAOPTS " The answer is",
     "fridge"},
    {"masked_answer_prompting", {NULL}, {QA},
     "Where do you keep milk? choice1: " QAOPTS " The answer is <extra_id_0>", "<extra_id_0> fridge"},
    {"choice_prompting", {NULL}, {QA}, "Where do you keep milk? choice1: " QAOPTS " The answer is",
     "choice2: fridge"},
    {"masked_choice_prompting", {NULL}, {QA},
     "Where do you keep milk? choice1: " QAOPTS " The answer is <extra_id_0>",
     "<extra_id_0> choice2: fridge"},
    /* the answer as a number, a label, a text; nchoices; answer_phrase */
    {"mc_mapping", {NULL},
     {"question", "q", "choice1", "a", "choice2", "b", "choice3", "c", "answer", "3"},
     "q choice1: a choice2: b choice3: c", "choice3"},
    {"mc_mapping", {NULL}, {"question", "q", "choice1", "a", "choice2", "b", "answer", "choice1"},
     "q choice1: a choice2: b", "choice1"},
    {"answer_prompting", {"answer_phrase", "Answer:", NULL},
     {"question", "q", "choice1", "a", "choice2", "b", "answer", "b"}, "q choice1: a choice2: b Answer:",
     "b"},
    {"mc_mapping", {NULL},
     {"question", "q", "choice1", "a", "choice2", "b", "choice3", "c", "nchoices", "2", "answer", "2"},
     "q choice1: a choice2: b", "choice2"},
    /* phrase set "paper": the MTO paper's code, github puraminy/MTO. Quoted from
     * attempt/data/tasks.py: class xIntent rel_nat = "they intend"; class xNeed
     * rel_nat = "But before {source}, PersonX needed"; class xWant rel_nat =
     * "After {source}, PersonX would want"; class xEffect rel_nat = "As a result
     * of {source}, PersonX will"; class AtLocation rel_nat = "you are likely to
     * find {source} in"; class isAfter rel_nat = "Something that happens after
     * {source} is"; and attempt/maps.py REL_TO_PHRASE "xAttr":"So, PersonX is
     * seen as", "xReact":"then, PersonX feels", "oReact":"then, PersonY feels"
     * (classes without a rel_nat of their own). Templates: get_template_format
     * "{source} (nat) (mask)" with nat -> {rel_nat}; a rel_nat holding {source}
     * replaces the head. */
    {"prompting", {"phrases", "paper", NULL}, {ATOMIC}, "PersonX applies for jobs they intend",
     "to afford food and rent"},
    {"masked_prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "xNeed", "tail", "a resume"},
     "But before PersonX applies for jobs, PersonX needed <extra_id_0>", "<extra_id_0> a resume"},
    {"prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "xWant", "tail", "to get hired"},
     "After PersonX applies for jobs, PersonX would want", "to get hired"},
    {"prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "xAttr", "tail", "ambitious"},
     "PersonX applies for jobs So, PersonX is seen as", "ambitious"},
    {"prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "xEffect", "tail", "gets a call"},
     "As a result of PersonX applies for jobs, PersonX will", "gets a call"},
    {"prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "xReact", "tail", "hopeful"},
     "PersonX applies for jobs then, PersonX feels", "hopeful"},
    {"prompting", {"phrases", "paper", NULL},
     {"head", "PersonX applies for jobs", "relation", "oReact", "tail", "happy"},
     "PersonX applies for jobs then, PersonY feels", "happy"},
    {"prompting", {"phrases", "paper", NULL}, {"head", "a fork", "relation", "AtLocation", "tail", "the kitchen"},
     "you are likely to find a fork in", "the kitchen"},
    {"prompting", {"phrases", "paper", NULL}, {"head", "X wakes up", "relation", "isAfter", "tail", "X sleeps"},
     "Something that happens after X wakes up is", "X sleeps"},
    /* the phrase set leaves the mapping families alone */
    {"masked_mapping", {"phrases", "paper", NULL}, {ATOMIC}, "PersonX applies for jobs <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    /* prompt tuning keeps the phrase (the paper's pt parts fill the (prompt) slots of
     * the same template); with_phrase = 0 still drops it */
    {"pre_pt", {"phrases", "paper", NULL}, {ATOMIC}, "PersonX applies for jobs they intend",
     "to afford food and rent"},
    {"masked_post_pt", {"phrases", "paper", NULL}, {ATOMIC}, "PersonX applies for jobs they intend <extra_id_0>",
     "<extra_id_0> to afford food and rent"},
    {"masked_pre_pt", {"phrases", "paper", "with_phrase", "0", NULL}, {ATOMIC},
     "PersonX applies for jobs <extra_id_0>", "<extra_id_0> to afford food and rent"},
    /* QA, quoted from tasks.py: class QA rel_nat = "The correct choice is ", qpos =
     * "end" (src_texts.append(", " + self.question), self.question = "question:" +
     * ...); CommonsenseQA src_texts = ["choice1:", text, ", ", "choice2:", ...] */
    {"answer_prompting", {"phrases", "paper", NULL}, {QA},
     "choice1: garage , choice2: fridge , choice3: shoe , question:Where do you keep milk? The correct choice is",
     "fridge"},
    {"mc_mapping", {"phrases", "paper", NULL}, {QA},
     "choice1: garage , choice2: fridge , choice3: shoe , question:Where do you keep milk?", "choice2"},
    {"masked_choice_prompting", {"phrases", "paper", NULL}, {QA},
     "choice1: garage , choice2: fridge , choice3: shoe , question:Where do you keep milk? The correct choice "
     "is <extra_id_0>",
     "<extra_id_0> choice2: fridge"},
    /* "mto" names the default set */
    {"prompting", {"phrases", "mto", NULL}, {ATOMIC}, "PersonX applies for jobs because PersonX intended",
     "to afford food and rent"},
};

/* Render rec with template name and options; returns rc, fills input/target. */
static int render(const char *name, const char *const *opts, const char *const *rec, char **input,
                  char **target, uint32_t *flags, mto_error *err)
{
    *input = *target = NULL;
    const mto_plugin_desc *d = mto_plugin_require(MTO_KIND_TEMPLATE, name, err);
    if (!d) return err->code;
    const mto_template_ops *ops = d->ops;
    if (flags) *flags = ops->flags;
    mto_options *o = mto_options_new();
    for (; opts && opts[0]; opts += 2) mto_options_set(o, opts[0], opts[1]);
    mto_record *r = mto_record_new();
    for (; rec && rec[0]; rec += 2) mto_record_set(r, rec[0], rec[1], (size_t)-1);
    void *state = NULL;
    int rc = ops->create(mto_host_table(), o, &state, err);
    mto_options_free(o);
    if (rc == 0) {
        mto_text in, tg;
        mto_text_init(&in);
        mto_text_init(&tg);
        rc = ops->render(state, r, &in, &tg, err);
        *input = strdup(in.data ? in.data : "");
        *target = strdup(tg.data ? tg.data : "");
        mto_text_free(&in);
        mto_text_free(&tg);
        ops->destroy(state);
    }
    mto_record_free(r);
    return rc;
}

static void bad(const char *name, const char *const *opts, const char *const *rec, int want_rc,
                const char *want_msg, const char *what)
{
    mto_error err = {0};
    char *in, *tg;
    int rc = render(name, opts, rec, &in, &tg, NULL, &err);
    ok(rc == want_rc && strstr(err.msg, want_msg), "%s -> error: %s", what, err.msg);
    free(in);
    free(tg);
}

int main(void)
{
    mto_error err = {0};
    ok(mto_plugins_load_all(&err) == 0, "plugins load");
    for (size_t i = 0; i < mto_plugin_problem_count(); i++) tap_diag("problem: %s", mto_plugin_problem_at(i));

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const golden *g = &cases[i];
        char *in, *tg;
        int rc = render(g->tmpl, g->opts, g->rec, &in, &tg, NULL, &err);
        if (!ok(rc == 0 && strcmp(in, g->input) == 0 && strcmp(tg, g->target) == 0,
                "golden %zu: %s", i, g->tmpl))
            tap_diag("rc %d (%s)\n#   got    \"%s\" -> \"%s\"\n#   wanted \"%s\" -> \"%s\"", rc,
                     err.msg, in ? in : "", tg ? tg : "", g->input, g->target);
        free(in);
        free(tg);
    }

    /* flags */
    static const struct { const char *name; uint32_t flags; } fl[] = {
        {"mapping", 0}, {"masked_mapping", MTO_TEMPLATE_MASKED}, {"prompting", 0},
        {"masked_prompting", MTO_TEMPLATE_MASKED}, {"pre_pt", MTO_TEMPLATE_SOFT_PRE},
        {"masked_pre_pt", MTO_TEMPLATE_SOFT_PRE | MTO_TEMPLATE_MASKED},
        {"post_pt", MTO_TEMPLATE_SOFT_POST},
        {"masked_post_pt", MTO_TEMPLATE_SOFT_POST | MTO_TEMPLATE_MASKED}, {"mc_mapping", 0},
        {"answer_prompting", 0}, {"masked_answer_prompting", MTO_TEMPLATE_MASKED},
        {"choice_prompting", 0}, {"masked_choice_prompting", MTO_TEMPLATE_MASKED}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        const mto_plugin_desc *d = mto_plugin_find(MTO_KIND_TEMPLATE, fl[i].name);
        ok(d && ((const mto_template_ops *)d->ops)->flags == fl[i].flags, "flags of %s", fl[i].name);
    }

    /* every ATOMIC-2020 relation and every WordNet relation has a phrase */
    static const char *rels[] = {
        "xIntent", "xNeed", "xAttr", "xEffect", "xReact", "xWant", "oEffect", "oReact", "oWant",
        "ObjectUse", "AtLocation", "MadeUpOf", "HasProperty", "CapableOf", "Desires", "NotDesires",
        "isAfter", "isBefore", "HasSubEvent", "HinderedBy", "Causes", "xReason", "isFilledBy",
        "CausesDesire", "CreatedBy", "HasA", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite",
        "InstanceOf", "MadeOf", "MotivatedByGoal", "UsedFor", "hypernym", "part_holonym",
        "member_holonym", "substance_holonym", "antonym", "definition", "example", "derivation"};
    int all = 1;
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        const char *rec[] = {"head", "HEAD", "relation", rels[i], "tail", "t", NULL};
        char *in, *tg;
        int rc = render("masked_prompting", NULL, rec, &in, &tg, NULL, &err);
        int good = rc == 0 && strstr(in, "HEAD") && strlen(in) > strlen("HEAD <extra_id_0>") &&
                   strcmp(in + strlen(in) - 13, " <extra_id_0>") == 0;
        if (!good) tap_diag("%s: rc %d \"%s\" %s", rels[i], rc, in ? in : "", err.msg);
        else tap_diag("%-18s %s", rels[i], in);
        all &= good;
        free(in);
        free(tg);
    }
    ok(all, "all 23 ATOMIC-2020, 10 ConceptNet and 8 WordNet relations have a phrase");

    /* the paper set has a phrase for each of the paper's nine ATOMIC relations */
    static const char *paper_rels[] = {"xIntent", "xNeed", "xAttr", "xEffect", "xReact", "xWant",
                                       "oEffect", "oReact", "oWant"};
    const char *paper_opts[] = {"phrases", "paper", NULL};
    all = 1;
    for (size_t i = 0; i < sizeof paper_rels / sizeof paper_rels[0]; i++) {
        const char *rec[] = {"head", "HEAD", "relation", paper_rels[i], "tail", "t", NULL};
        char *in, *tg;
        int rc = render("prompting", paper_opts, rec, &in, &tg, NULL, &err);
        all &= rc == 0 && strstr(in, "HEAD") != NULL;
        free(in);
        free(tg);
    }
    ok(all, "the paper set covers the paper's nine ATOMIC relations");
    const char *wn[] = {"head", "oak", "relation", "hypernym", "tail", "tree", NULL};
    bad("prompting", paper_opts, wn, MTO_ENOTFOUND, "in the phrase set \"paper\"",
        "a relation outside the paper set");
    const char *bogus[] = {"phrases", "bogus", NULL};
    bad("prompting", bogus, wn, MTO_EINVAL, "nor a phrase set (\"mto\" or \"paper\")", "unknown phrase set");

    /* bad input */
    const char *no_tail[] = {"head", "h", "relation", "xIntent", NULL};
    bad("masked_prompting", NULL, no_tail, MTO_ENOTFOUND, "no field 'tail'", "missing tail");
    const char *no_head[] = {"relation", "xIntent", "tail", "t", NULL};
    bad("mapping", NULL, no_head, MTO_ENOTFOUND, "no field 'head'", "missing head");
    const char *no_rel[] = {"head", "h", "tail", "t", NULL};
    bad("prompting", NULL, no_rel, MTO_ENOTFOUND, "no field 'relation'", "prompting without relation");
    const char *unk[] = {"head", "h", "relation", "LovesToDance", "tail", "t", NULL};
    bad("prompting", NULL, unk, MTO_ENOTFOUND, "unknown relation 'LovesToDance'", "unknown relation");
    const char *tp_opts[] = {"task_prefix", "1", NULL};
    bad("mapping", tp_opts, no_rel, MTO_ENOTFOUND, "no field 'relation'", "task_prefix without relation");
    const char *pf_opts[] = {"prefix", "{group}: ", NULL};
    bad("mapping", pf_opts, no_rel, MTO_ENOTFOUND, "no field 'group'", "prefix naming a missing field");
    const char *masked[] = {"masked", "1", NULL};
    bad("prompting", masked, no_rel, MTO_EINVAL, "no mask slot", "masked objective on prompting");
    bad("mc_mapping", masked, no_rel, MTO_EINVAL, "no mask slot", "masked objective on mc_mapping");
    char *in, *tg;
    ok(render("masked_prompting", masked, (const char *[]){"head", "h", "relation", "hypernym", "tail",
                                                            "t", NULL},
              &in, &tg, NULL, &err) == 0,
       "masked=1 accepted by masked_prompting");
    free(in);
    free(tg);
    const char *badphr[] = {"phrases", "nonsense", NULL};
    bad("prompting", badphr, no_rel, MTO_EINVAL, "is not RELATION=phrase", "malformed phrases option");
    const char *qa_nochoice[] = {"question", "q", "answer", "1", NULL};
    bad("mc_mapping", NULL, qa_nochoice, MTO_ENOTFOUND, "no field 'choice1'", "QA without choices");
    const char *qa_noans[] = {"question", "q", "choice1", "a", NULL};
    bad("answer_prompting", NULL, qa_noans, MTO_ENOTFOUND, "no field 'answer'", "QA without answer");
    const char *qa_badans[] = {"question", "q", "choice1", "a", "choice2", "b", "answer", "7", NULL};
    bad("mc_mapping", NULL, qa_badans, MTO_EINVAL, "answer '7' names none", "answer out of range");
    const char *qa_gap[] = {"question", "q", "choice1", "a", "choice3", "c", "nchoices", "3",
                            "answer", "1", NULL};
    bad("mc_mapping", NULL, qa_gap, MTO_ENOTFOUND, "no field 'choice2'", "nchoices with a gap");
    const char *qa_badn[] = {"question", "q", "choice1", "a", "nchoices", "x", "answer", "1", NULL};
    bad("mc_mapping", NULL, qa_badn, MTO_EINVAL, "nchoices 'x'", "nchoices not a number");
    bad("no_such_template", NULL, no_rel, MTO_ENOTFOUND, "masked_prompting", "unknown template");
    return tap_done();
}
