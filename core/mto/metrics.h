/* mto/metrics.h — evaluation metrics for generated text and multiple choice.
 *
 * Two styles (MTO_METRIC_STYLE_*):
 *
 * "mto" (the default) tokenizes like Google's rouge_score without stemming
 * (re.sub(r"[^a-z0-9]+", " ", text.lower()).split()): ASCII letters are
 * lowercased (only ASCII: no Unicode case folding); every byte that is not
 * [a-z0-9] after lowercasing (punctuation, whitespace, NUL, any non-ASCII byte)
 * separates tokens; empty tokens are dropped. So "PersonX's  car!" -> personx s
 * car. ROUGE-L is rouge_score's rougeL F1; the BLEU fixtures feed NLTK the same
 * tokens. A text with no such token at all (e.g. only non-ASCII letters) has as
 * its normal form, for exact match and distinct counts only, its bytes with
 * ASCII whitespace trimmed, so "日本" and "中国" stay different.
 *
 * "paper" is what the MTO paper's code (github puraminy/MTO, attempt/metrics/
 * metrics.py do_score) computes with the `rouge` package (pltrdy/rouge 1.0.1):
 * see mto_rouge_l_paper_pair and mto_rouge_l_best_n below.
 *
 * The _n functions read every text by its length, so texts may hold NUL bytes;
 * a lens array may be NULL (then every text is NUL-terminated). The functions
 * without _n take NUL-terminated strings and use the "mto" style.
 *
 * Functions returning double return NAN if memory runs out. */
#ifndef MTO_METRICS_H
#define MTO_METRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MTO_METRIC_STYLE_MTO = 0,  /* rouge_score-compatible (the default) */
    MTO_METRIC_STYLE_PAPER = 1 /* the paper's code: pltrdy/rouge 1.0.1, strip-and-compare */
};

/* Tokens of s ("mto" style): one malloc'ed block (array of n+1 pointers,
 * NULL-terminated, followed by the strings); free() it. NULL on allocation failure. */
char **mto_metric_tokenize(const char *s, size_t *n);
char **mto_metric_tokenize_n(const char *s, size_t len, size_t *n);
/* Tokens joined by single spaces (malloc'ed; free()). */
char *mto_metric_normalize(const char *s);
char *mto_metric_normalize_n(const char *s, size_t len);

/* ---- ROUGE-L (metrics_rouge.c) ------------------------------------------- */
/* ROUGE-L F1 of pred against one reference: LCS l over tokens, P = l/|pred|,
 * R = l/|ref|, F = 2PR/(P+R); 0 if either side has no tokens or l = 0. */
double mto_rouge_l_f1(const char *pred, const char *ref);
/* Best ROUGE-L F1 of pred against refs[0..n) (0 if n == 0): the per-head score. */
double mto_rouge_l_best(const char *pred, const char *const *refs, size_t n);
/* Macro average: mean of scores within each group (e.g. relation), then the mean
 * of those group means; groups compared with strcmp; a NULL array or entry is the group "". NAN if n == 0. */
double mto_mean_by_group(const double *scores, const char *const *groups, size_t n);
/* The same with group i being glens[i] bytes (compared byte for byte, NULs included). */
double mto_mean_by_group_n(const double *scores, const char *const *groups, const size_t *glens,
                           size_t n);

/* ROUGE-L in either style, pred being plen bytes and refs[i] ref_lens[i] bytes.
 * MTO_METRIC_STYLE_MTO: the best mto_rouge_l_f1 over the references (0 if n == 0).
 * MTO_METRIC_STYLE_PAPER: what do_score in the paper's code stores for a head:
 *   each reference has every "<extra_...>" span (up to the first '>' on its
 *   line) removed and surrounding whitespace stripped, the prediction is used as
 *   is; the score is the maximum of mto_rouge_l_paper_pair over the references,
 *   and 0 if that raises for any one of them (or n == 0). */
double mto_rouge_l_best_n(const char *pred, size_t plen, const char *const *refs,
                          const size_t *ref_lens, size_t n, int style);
/* Rouge().get_scores(hyp, ref, avg=True, ignore_empty=True)["rouge-l"]["f"] of
 * the rouge package 1.0.1, or -1 where that call raises (an empty hyp or ref,
 * or one made only of '.'). Its definition: a text splits on '.' into
 * sentences (empty pieces dropped), each sentence into words on Python's
 * str.split() whitespace (Unicode: the 29 code points str.isspace() accepts;
 * a sentence of only whitespace is the one word ""); words compare byte for
 * byte, case-sensitively. m, n = the number of DISTINCT words of ref, hyp.
 * For each ref sentence and each hyp sentence, one LCS of their words is
 * reconstructed (backtracking from the end: on a match take it, else step up
 * in the ref if that cell is strictly larger, else left); llcs = the number of
 * distinct words in the union of all these LCSs. P = llcs/n, R = llcs/m,
 * F = 2 * (P*R / (P + R + 1e-8)). So identical texts score 0.999999995. */
double mto_rouge_l_paper_pair(const char *hyp, size_t hlen, const char *ref, size_t rlen);

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
/* The same reading texts by length (pred_lens / ref_lens[i] may be NULL). */
double mto_bleu_sentence_n(const char *pred, size_t plen, const char *const *refs,
                           const size_t *ref_lens, size_t n, int smoothing);
double mto_bleu_corpus_n(const char *const *preds, const size_t *pred_lens,
                         const char *const *const *refs, const size_t *const *ref_lens,
                         const size_t *nrefs, size_t n, int smoothing);

/* ---- matching (metrics_match.c) --------------------------------------------- */
/* 1 if pred's normal form equals that of any of refs[0..n), else 0. */
int mto_exact_match(const char *pred, const char *const *refs, size_t n);
/* Either style, texts read by length; 1 or 0, -1 if memory runs out.
 * MTO_METRIC_STYLE_PAPER: pred.strip() == ref.strip() for some reference,
 * byte for byte (case-sensitive), where strip() removes Python's whitespace
 * and each reference first loses its "<extra_...>" spans as in the paper's do_score. */
int mto_exact_match_n(const char *pred, size_t plen, const char *const *refs,
                      const size_t *ref_lens, size_t n, int style);
/* Number of distinct normal forms among preds[0..n) (-1 on allocation failure). */
long mto_unique_count(const char *const *preds, size_t n);
/* Either style, texts read by length. MTO_METRIC_STYLE_PAPER counts distinct
 * texts byte for byte, as pandas' unique() of the predictions. */
long mto_unique_count_n(const char *const *preds, const size_t *lens, size_t n, int style);
/* Index of the choice pred names: exact normal-form match first, else the highest
 * ROUGE-L F1 above 0 (first on ties); -1 if it names none (no choice shares a word
 * with it: count it wrong) or n == 0. */
long mto_mc_pick(const char *pred, const char *const *choices, size_t n);
long mto_mc_pick_n(const char *pred, size_t plen, const char *const *choices,
                   const size_t *choice_lens, size_t n);
/* Fraction of i with pred[i] == gold[i]; NAN if n == 0. */
double mto_mc_accuracy(const long *pred, const long *gold, size_t n);

#ifdef __cplusplus
}
#endif
#endif
