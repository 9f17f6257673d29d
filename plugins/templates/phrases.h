/* phrases.h — natural-language bridges from a head to its tail, one per
 * relation (ATOMIC-2020, the ConceptNet relations its release carries, and
 * the WordNet relations mto's readers produce). Written for mto.
 *
 * A phrase either contains {head} (the whole sentence up to the tail slot) or
 * is appended after the head with one space; the tail always follows the
 * phrase. Other {field} placeholders are filled from the record too. */
#ifndef MTO_TMPL_PHRASES_H
#define MTO_TMPL_PHRASES_H

#include <stddef.h>

typedef struct phrase_entry {
    const char *relation; /* as the datasets spell it: "xIntent", "hypernym" */
    const char *phrase;
} phrase_entry;

/* Phrase sets: mto's own (the default) and the MTO paper code's ("paper"). */
enum { PHRASE_SET_MTO = 0, PHRASE_SET_PAPER = 1 };

/* The built-in tables and their lengths. */
extern const phrase_entry phrase_table[];
extern const size_t phrase_table_len;
extern const phrase_entry paper_phrase_table[];
extern const size_t paper_phrase_table_len;

/* Relation names compare without case and ignoring '_', '-' and ' ', so
 * "HasSubevent" = "HasSubEvent" and "part holonym" = "part_holonym". */
int phrase_same_relation(const char *a, const char *b);

/* Built-in phrase for a relation (mto's set), or NULL. */
const char *phrase_lookup(const char *relation);
/* The same in a given set (PHRASE_SET_*). */
const char *phrase_lookup_set(int set, const char *relation);

#endif
