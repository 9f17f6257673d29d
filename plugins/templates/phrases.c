/* phrases.c — the relation phrase table (see phrases.h for the rules).
 * ATOMIC-2020's 23 relations come first, grouped as in Hwang et al. (2021):
 * social interaction (x = PersonX, o = others), physical entity, event. */
#include <ctype.h>

#include "phrases.h"

const phrase_entry phrase_table[] = {
    /* ATOMIC-2020: social interaction */
    {"xIntent", "because PersonX intended"},
    {"xNeed", "{head}. Before that, PersonX needed"},
    {"xAttr", "{head}. PersonX is seen as"},
    {"xEffect", "{head}. As a result, PersonX"},
    {"xReact", "{head}. As a result, PersonX feels"},
    {"xWant", "{head}. After that, PersonX wants"},
    {"oEffect", "{head}. As a result, others"},
    {"oReact", "{head}. As a result, others feel"},
    {"oWant", "{head}. After that, others want"},
    /* ATOMIC-2020: physical entity */
    {"ObjectUse", "{head} is used to"},
    {"AtLocation", "you are likely to find {head} in"},
    {"MadeUpOf", "{head} is made up of"},
    {"HasProperty", "{head} is"},
    {"CapableOf", "{head} can"},
    {"Desires", "{head} wants"},
    {"NotDesires", "{head} does not want"},
    /* ATOMIC-2020: event */
    {"isAfter", "{head} happens after"},
    {"isBefore", "{head} happens before"},
    {"HasSubEvent", "{head} includes"},
    {"HinderedBy", "{head}. This can be hindered if"},
    {"Causes", "{head} causes"},
    {"xReason", "{head} because"},
    {"isFilledBy", "{head}. The blank can be filled by"},
    /* ConceptNet relations found in the ATOMIC-2020 release files */
    {"CausesDesire", "{head} makes people want"},
    {"CreatedBy", "{head} is created by"},
    {"HasA", "{head} has"},
    {"HasFirstSubevent", "{head} starts with"},
    {"HasLastSubevent", "{head} ends with"},
    {"HasPrerequisite", "{head} requires"},
    {"InstanceOf", "{head} is an instance of"},
    {"MadeOf", "{head} is made of"},
    {"MotivatedByGoal", "{head} because someone wants"},
    {"UsedFor", "{head} is used for"},
    /* WordNet (plugins/readers: wordnet) */
    {"hypernym", "{head} is a kind of"},
    {"hyponym", "one kind of {head} is"},
    {"part_holonym", "{head} is part of"},
    {"part_meronym", "one part of {head} is"},
    {"member_holonym", "{head} is a member of"},
    {"member_meronym", "one member of {head} is"},
    {"substance_holonym", "{head} is a substance of"},
    {"substance_meronym", "{head} contains the substance"},
    {"antonym", "{head} is the opposite of"},
    {"definition", "{head} means"},
    {"example", "{head} is used like this:"},
    {"derivation", "{head} is related in form to"},
};

const size_t phrase_table_len = sizeof phrase_table / sizeof phrase_table[0];

/* The phrase set "paper": the relation phrases of the MTO paper's code
 * (github puraminy/MTO, attempt/data/tasks.py: the rel_nat of each ATOMIC task
 * class; attempt/maps.py REL_TO_PHRASE where a class sets none: xAttr, xReact,
 * oReact), quoted with the code's {source} written {head}. Where a phrase holds
 * {source}, the code drops the head before it, as mto does with {head}.
 * HasProperty's " is " is "is" here (the head and the phrase are joined by one
 * space; T5's tokenizer collapses the code's double space anyway). */
const phrase_entry paper_phrase_table[] = {
    {"xIntent", "they intend"},
    {"xNeed", "But before {head}, PersonX needed"},
    {"xAttr", "So, PersonX is seen as"},
    {"xEffect", "As a result of {head}, PersonX will"},
    {"xReact", "then, PersonX feels"},
    {"xWant", "After {head}, PersonX would want"},
    {"oEffect", "as a result of {head}, others will"},
    {"oReact", "then, PersonY feels"},
    {"oWant", "as a result of {head}, others would want"},
    {"ObjectUse", "is used for"},
    {"AtLocation", "you are likely to find {head} in"},
    {"MadeUpOf", "is made up of"},
    {"HasProperty", "is"},
    {"CapableOf", "can"},
    {"Desires", "wants"},
    {"NotDesires", "does not want"},
    {"isAfter", "Something that happens after {head} is"},
    {"isBefore", "Something that happens before {head} is"},
    {"HasSubEvent", "Something you might do while {head} is"},
    {"HinderedBy", "is hindered by"},
    {"Causes", "Sometimes {head} causes"},
    {"xReason", "The reason for PersonX doing this is"},
    {"isFilledBy", "can be filled by"},
};

const size_t paper_phrase_table_len = sizeof paper_phrase_table / sizeof paper_phrase_table[0];

/* Next significant character (skipping '_', '-', ' '), lower-cased; 0 at end. */
static int next_sig(const char **s)
{
    while (**s == '_' || **s == '-' || **s == ' ') (*s)++;
    return **s ? tolower((unsigned char)*(*s)++) : 0;
}

int phrase_same_relation(const char *a, const char *b)
{
    for (;;) {
        int x = next_sig(&a), y = next_sig(&b);
        if (x != y) return 0;
        if (x == 0) return 1;
    }
}

const char *phrase_lookup(const char *relation)
{
    return phrase_lookup_set(PHRASE_SET_MTO, relation);
}

const char *phrase_lookup_set(int set, const char *relation)
{
    const phrase_entry *t = set == PHRASE_SET_PAPER ? paper_phrase_table : phrase_table;
    size_t n = set == PHRASE_SET_PAPER ? paper_phrase_table_len : phrase_table_len;
    for (size_t i = 0; i < n; i++)
        if (phrase_same_relation(t[i].relation, relation)) return t[i].phrase;
    return NULL;
}
