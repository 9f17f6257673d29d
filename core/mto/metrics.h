/* mto/metrics.h — evaluation metrics for generated text and multiple choice.
 *
 * Tokenization (every text metric here uses it): ASCII letters are lowercased;
 * every byte that is not [a-z0-9] after lowercasing (punctuation, whitespace,
 * any non-ASCII byte) separates tokens; empty tokens are dropped. So
 * "PersonX's  car!" -> personx s car. This is Google rouge_score's tokenizer
 * without stemming (re.sub(r"[^a-z0-9]+", " ", text.lower()).split()), and the
 * BLEU fixtures feed NLTK the same tokens.
 *
 * Functions returning double return NAN if memory runs out. */
#ifndef MTO_METRICS_H
#define MTO_METRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tokens of s as above: one malloc'ed block (array of n+1 pointers, NULL-terminated,
 * followed by the strings); free() it. NULL on allocation failure. */
char **mto_metric_tokenize(const char *s, size_t *n);
/* The normal form: tokens joined by single spaces (malloc'ed; free()). */
char *mto_metric_normalize(const char *s);

/* ---- ROUGE-L (metrics_rouge.c) ------------------------------------------- */
/* ROUGE-L F1 of pred against one reference: LCS l over tokens, P = l/|pred|,
 * R = l/|ref|, F = 2PR/(P+R); 0 if either side has no tokens or l = 0. */
double mto_rouge_l_f1(const char *pred, const char *ref);
/* Best ROUGE-L F1 of pred against refs[0..n) (0 if n == 0): the per-head score. */
double mto_rouge_l_best(const char *pred, const char *const *refs, size_t n);
/* Macro average: mean of scores within each group (e.g. relation), then the mean
 * of those group means; groups compared with strcmp; a NULL array or entry is the group "". NAN if n == 0. */
double mto_mean_by_group(const double *scores, const char *const *groups, size_t n);

/* ---- BLEU (metrics_bleu.c), NLTK's bleu_score with weights (.25,.25,.25,.25) ---- */
enum {
    MTO_BLEU_SMOOTH_NONE = 0,    /* NLTK method0: a zero n-gram precision counts as DBL_MIN */
    MTO_BLEU_SMOOTH_METHOD1 = 1, /* NLTK method1: zero numerators become epsilon 0.1 */
    MTO_BLEU_SMOOTH_DEFAULT = MTO_BLEU_SMOOTH_METHOD1 /* what mto reports as "BLEU" */
};
/* Sentence BLEU-4 of pred against refs[0..n) (NLTK sentence_bleu); 0 if no unigram matches. */
double mto_bleu_sentence(const char *pred, const char *const *refs, size_t n, int smoothing);
/* Corpus BLEU-4 (NLTK corpus_bleu): n-gram counts and lengths summed over the corpus;
 * example i has nrefs[i] references refs[i][0..nrefs[i]). */
double mto_bleu_corpus(const char *const *preds, const char *const *const *refs,
                       const size_t *nrefs, size_t n, int smoothing);

/* ---- matching (metrics_match.c) --------------------------------------------- */
/* 1 if pred's normal form equals that of any of refs[0..n), else 0. */
int mto_exact_match(const char *pred, const char *const *refs, size_t n);
/* Number of distinct normal forms among preds[0..n) (-1 on allocation failure). */
long mto_unique_count(const char *const *preds, size_t n);
/* Index of the choice pred names: exact normal-form match first, else the highest
 * ROUGE-L F1 (first on ties); -1 if n == 0. */
long mto_mc_pick(const char *pred, const char *const *choices, size_t n);
/* Fraction of i with pred[i] == gold[i]; NAN if n == 0. */
double mto_mc_accuracy(const long *pred, const long *gold, size_t n);

#ifdef __cplusplus
}
#endif
#endif
