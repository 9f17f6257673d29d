/* sentencepiece.cc — the "sentencepiece" tokenizer plugin: a thin extern "C"
 * shim over Debian's libsentencepiece (the only C++ file in mto).
 *
 * T5 conventions (DESIGN.md §4):
 *  - pad 0, eos 1, unk 2 (a model with other special ids is refused at load:
 *    the rest of mto hard-codes these, so a mismatch would silently corrupt
 *    every target);
 *  - the 100 sentinels <extra_id_0>..<extra_id_99> are not SentencePiece
 *    pieces; they sit on top: vocab_size = pieces + 100 and <extra_id_N> =
 *    vocab_size - 1 - N (t5: 32000 pieces, <extra_id_0> = 32099);
 *  - encode never appends eos (callers add it where the model expects it);
 *  - ids >= vocab_size (embedding padding rows, 32100..32127 for t5) are never
 *    produced, and decoding one is an MTO_EINVAL error: it means the caller
 *    forgot to mask those logits, which should not pass silently.
 *
 * Every entry point catches all C++ exceptions and turns them into an
 * mto_error naming the model file; nothing C++ crosses the boundary. */
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mto/plugin.h"

namespace {

const int kSentinels = 100;
const int kPad = 0, kEos = 1, kUnk = 2;
const char kSentinelPrefix[] = "<extra_id_";

struct Spm {
    const mto_host *host;
    sentencepiece::SentencePieceProcessor sp;
    std::string path;
    int32_t pieces; /* SentencePiece pieces */
    int32_t vocab;  /* pieces + sentinels */
};

/* If s starts with "<extra_id_N>" (N in 0..99, no leading zeros), return N
 * and set *len to the match length; otherwise -1. */
int parse_sentinel(std::string_view s, size_t *len)
{
    const size_t p = sizeof kSentinelPrefix - 1;
    if (s.size() < p + 2 || s.compare(0, p, kSentinelPrefix) != 0) return -1;
    size_t i = p;
    int n = 0, digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
        n = n * 10 + (s[i] - '0');
        ++i, ++digits;
    }
    if (digits == 0 || i >= s.size() || s[i] != '>') return -1;
    if (digits > 1 && s[p] == '0') return -1; /* "<extra_id_07>" is plain text */
    if (n >= kSentinels) return -1;
    *len = i + 1;
    return n;
}

/* Map a SentencePiece status to an mto error code. */
int status_code(const sentencepiece::util::Status &st)
{
    using sentencepiece::util::StatusCode;
    switch (st.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied: return MTO_EIO;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return MTO_EINVAL;
    case StatusCode::kResourceExhausted: return MTO_ENOMEM;
    default: return MTO_EFORMAT;
    }
}

/* The catch clauses every entry point ends with. `where` names the file. */
#define SPM_CATCH(host, err, where)                                                        \
    catch (const std::bad_alloc &) {                                                       \
        return (host)->error(err, MTO_ENOMEM, "%s: sentencepiece: out of memory", where);  \
    }                                                                                      \
    catch (const std::exception &e) {                                                      \
        return (host)->error(err, MTO_EPLUGIN, "%s: sentencepiece: %s", where, e.what());  \
    }                                                                                      \
    catch (...) {                                                                          \
        return (host)->error(err, MTO_EPLUGIN, "%s: sentencepiece: unknown C++ exception", \
                             where);                                                       \
    }

int spm_load(const mto_host *host, const char *path, void **state, mto_error *err)
{
    *state = nullptr;
    if (!path || !*path) return host->error(err, MTO_EINVAL, "sentencepiece: empty model path");
    {
        /* only a regular file: a FIFO would block the open (and every mto command) */
        struct stat st;
        if (stat(path, &st) != 0)
            return host->error(err, MTO_EIO, "%s: cannot open: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return host->error(err, MTO_EIO, "%s: cannot open: %s", path,
                               S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file (a FIFO or device)");
    }
    Spm *t = nullptr;
    try {
        t = new Spm();
        t->host = host;
        t->path = path;
        auto st = t->sp.Load(path);
        if (!st.ok()) {
            int code = status_code(st);
            if (code != MTO_EIO) code = MTO_EFORMAT; /* anything else: not a model */
            host->error(err, code, "%s: cannot load SentencePiece model: %s", path,
                        st.ToString().c_str());
            delete t;
            return code;
        }
        if (t->sp.pad_id() != kPad || t->sp.eos_id() != kEos || t->sp.unk_id() != kUnk) {
            host->error(err, MTO_EFORMAT,
                        "%s: not a T5-style vocabulary: pad=%d eos=%d unk=%d, expected "
                        "pad=0 eos=1 unk=2 (train one with mto.train_tokenizer)",
                        path, t->sp.pad_id(), t->sp.eos_id(), t->sp.unk_id());
            delete t;
            return MTO_EFORMAT;
        }
        t->pieces = t->sp.GetPieceSize();
        if (t->pieces <= kUnk || t->pieces > INT32_MAX - kSentinels) {
            host->error(err, MTO_EFORMAT, "%s: implausible piece count %d", path, t->pieces);
            delete t;
            return MTO_EFORMAT;
        }
        t->vocab = t->pieces + kSentinels;
        *state = t;
        return 0;
    }
    catch (const std::bad_alloc &) {
        delete t;
        return host->error(err, MTO_ENOMEM, "%s: sentencepiece: out of memory", path);
    }
    catch (const std::exception &e) {
        delete t;
        return host->error(err, MTO_EPLUGIN, "%s: sentencepiece: %s", path, e.what());
    }
    catch (...) {
        delete t;
        return host->error(err, MTO_EPLUGIN, "%s: sentencepiece: unknown C++ exception", path);
    }
}

/* Encode one sentinel-free segment and append its ids. */
int encode_segment(Spm *t, std::string_view seg, std::vector<int> &tmp, mto_ids *out,
                   mto_error *err)
{
    tmp.clear();
    if (seg.empty()) return 0;
    auto st = t->sp.Encode(seg, &tmp);
    if (!st.ok())
        return t->host->error(err, status_code(st), "%s: encode: %s", t->path.c_str(),
                              st.ToString().c_str());
    for (int id : tmp)
        if (t->host->ids_push(out, id) != 0)
            return t->host->error(err, MTO_ENOMEM, "%s: encode: out of memory", t->path.c_str());
    return 0;
}

/* Sentinel strings split the text; each piece between them is encoded on its
 * own (as HF's T5Tokenizer does), so "a <extra_id_0> b" -> ids(a) s0 ids(b). */
int spm_encode(void *state, const char *text, size_t len, mto_ids *out, mto_error *err)
{
    Spm *t = static_cast<Spm *>(state);
    try {
        std::string_view s(text ? text : "", text ? len : 0);
        std::vector<int> tmp;
        size_t start = 0, pos = 0;
        while ((pos = s.find(kSentinelPrefix, pos)) != std::string_view::npos) {
            size_t mlen = 0;
            int n = parse_sentinel(s.substr(pos), &mlen);
            if (n < 0) {
                pos += 1;
                continue;
            }
            int rc = encode_segment(t, s.substr(start, pos - start), tmp, out, err);
            if (rc) return rc;
            if (t->host->ids_push(out, t->vocab - 1 - n) != 0)
                return t->host->error(err, MTO_ENOMEM, "%s: encode: out of memory",
                                      t->path.c_str());
            pos += mlen;
            start = pos;
        }
        return encode_segment(t, s.substr(start), tmp, out, err);
    }
    SPM_CATCH(t->host, err, t->path.c_str())
}

bool starts_with_space_mark(const std::string &piece)
{
    return piece.compare(0, 3, "\xe2\x96\x81") == 0; /* U+2581 '▁' */
}

/* Decode a run of ordinary ids and append it; *text says whether it added
 * any. A run that follows a sentinel gets back the space its first piece
 * marks ("<extra_id_0> walks"). */
int flush_run(Spm *t, std::vector<int> &run, bool after_sentinel, std::string &out,
              bool *text, mto_error *err)
{
    *text = false;
    if (run.empty()) return 0;
    std::string s;
    auto st = t->sp.Decode(run, &s);
    if (!st.ok())
        return t->host->error(err, status_code(st), "%s: decode: %s", t->path.c_str(),
                              st.ToString().c_str());
    if (!s.empty() && after_sentinel && s[0] != ' ') {
        for (int id : run)
            if (!t->sp.IsControl(id)) {
                if (starts_with_space_mark(t->sp.IdToPiece(id))) out += ' ';
                break;
            }
    }
    out += s;
    *text = !s.empty();
    run.clear();
    return 0;
}

/* Pad and eos vanish (they are SentencePiece control pieces); a sentinel is
 * rendered "<extra_id_N>" with one space before it when text directly
 * precedes it, none between two sentinels. So "a <extra_id_0> b" round-trips
 * exactly and "a<extra_id_0>b" comes back spaced (same ids either way). */
int spm_decode(void *state, const int32_t *ids, size_t n, mto_text *out, mto_error *err)
{
    Spm *t = static_cast<Spm *>(state);
    try {
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= t->vocab)
                return t->host->error(err, MTO_EINVAL,
                                      "%s: decode: id %d at position %zu is outside the "
                                      "tokenizer vocabulary [0, %d)",
                                      t->path.c_str(), (int)ids[i], i, (int)t->vocab);
        std::string s;
        std::vector<int> run;
        bool after_sentinel = false, text = false;
        for (size_t i = 0; i < n; i++) {
            if (ids[i] < t->pieces) {
                run.push_back(ids[i]);
                continue;
            }
            int rc = flush_run(t, run, after_sentinel, s, &text, err);
            if (rc) return rc;
            if (text && s.back() != ' ') s += ' ';
            s += kSentinelPrefix;
            s += std::to_string(t->vocab - 1 - ids[i]);
            s += '>';
            after_sentinel = true;
        }
        int rc = flush_run(t, run, after_sentinel, s, &text, err);
        if (rc) return rc;
        if (t->host->text_append(out, s.data(), s.size()) != 0)
            return t->host->error(err, MTO_ENOMEM, "%s: decode: out of memory", t->path.c_str());
        return 0;
    }
    SPM_CATCH(t->host, err, t->path.c_str())
}

int32_t spm_vocab_size(void *state)
{
    return static_cast<Spm *>(state)->vocab;
}

int32_t spm_piece_to_id(void *state, const char *piece)
{
    Spm *t = static_cast<Spm *>(state);
    if (!piece) return -1;
    try {
        std::string_view p(piece);
        size_t mlen = 0;
        int n = parse_sentinel(p, &mlen);
        if (n >= 0 && mlen == p.size()) return t->vocab - 1 - n;
        int id = t->sp.PieceToId(p);
        /* PieceToId answers unk for anything it does not know. */
        if (id == t->sp.unk_id() && p != t->sp.IdToPiece(id)) return -1;
        return id;
    }
    catch (...) {
        return -1;
    }
}

void spm_destroy(void *state)
{
    delete static_cast<Spm *>(state);
}

/* Option lookups that tolerate opts == NULL. */
std::string opt_s(const mto_host *h, const mto_options *o, const char *k, const char *d)
{
    const char *v = o ? h->opt_str(o, k, d) : d;
    return v ? v : "";
}
double opt_n(const mto_host *h, const mto_options *o, const char *k, double d)
{
    return o ? h->opt_num(o, k, d) : d;
}

std::string num_str(double v)
{
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}

/* Train a T5-style vocabulary: vocab_size - 100 SentencePiece pieces with
 * pad=0 eos=1 unk=2 and no bos; the sentinels are added on top at load time.
 * Deterministic for the same input and options (fixed seed, fixed thread
 * count). Options: model_type (unigram|bpe|char|word, default unigram),
 * character_coverage (1.0), input_sentence_size (0 = all lines),
 * shuffle_input_sentence (1), seed (1), num_threads (4),
 * max_sentence_length (4192), split_digits (0), byte_fallback (0),
 * normalization_rule_name (nmt_nfkc), user_defined_symbols (""),
 * verbose (0: SentencePiece logs only errors). */
int spm_train(const mto_host *host, const char *input, const char *model_prefix,
              int vocab_size, const mto_options *opts, mto_error *err)
{
    const char *where = input ? input : "(null)";
    if (!input || !*input || !model_prefix || !*model_prefix)
        return host->error(err, MTO_EINVAL, "sentencepiece train: input and model_prefix are required");
    if (vocab_size <= kSentinels + kUnk + 1)
        return host->error(err, MTO_EINVAL,
                           "sentencepiece train: vocab_size %d too small (must exceed %d: "
                           "%d sentinels sit on top of the pieces)",
                           vocab_size, kSentinels + kUnk + 1, kSentinels);
    try {
        std::string type = opt_s(host, opts, "model_type", "unigram");
        if (type != "unigram" && type != "bpe" && type != "char" && type != "word")
            return host->error(err, MTO_EINVAL,
                               "sentencepiece train: model_type '%s' (want unigram, bpe, char "
                               "or word)", type.c_str());
        double seed = opt_n(host, opts, "seed", 1);
        if (!(seed >= 0 && seed < 4294967295.0))
            return host->error(err, MTO_EINVAL, "sentencepiece train: seed %g out of range", seed);
        int verbose = (int)opt_n(host, opts, "verbose", 0);

        std::unordered_map<std::string, std::string> kw = {
            {"input", input},
            {"model_prefix", model_prefix},
            {"vocab_size", std::to_string(vocab_size - kSentinels)},
            {"model_type", type},
            {"character_coverage", num_str(opt_n(host, opts, "character_coverage", 1.0))},
            {"input_sentence_size",
             num_str((double)(long long)opt_n(host, opts, "input_sentence_size", 0))},
            {"shuffle_input_sentence",
             opt_n(host, opts, "shuffle_input_sentence", 1) != 0 ? "true" : "false"},
            {"num_threads", std::to_string((int)opt_n(host, opts, "num_threads", 4))},
            {"max_sentence_length",
             std::to_string((int)opt_n(host, opts, "max_sentence_length", 4192))},
            {"split_digits", opt_n(host, opts, "split_digits", 0) != 0 ? "true" : "false"},
            {"byte_fallback", opt_n(host, opts, "byte_fallback", 0) != 0 ? "true" : "false"},
            {"normalization_rule_name", opt_s(host, opts, "normalization_rule_name", "nmt_nfkc")},
            {"pad_id", "0"},
            {"eos_id", "1"},
            {"unk_id", "2"},
            {"bos_id", "-1"},
            {"hard_vocab_limit", "true"}, /* exact size, or the sentinels would move */
            {"minloglevel", verbose ? "0" : "2"},
        };
        std::string uds = opt_s(host, opts, "user_defined_symbols", "");
        if (!uds.empty()) kw["user_defined_symbols"] = uds;

        sentencepiece::SetRandomGeneratorSeed((unsigned)seed);
        auto st = sentencepiece::SentencePieceTrainer::Train(kw);
        if (!st.ok())
            return host->error(err, status_code(st) == MTO_EIO ? MTO_EIO : MTO_EPLUGIN,
                               "%s: sentencepiece train (model_prefix %s): %s", where,
                               model_prefix, st.ToString().c_str());
        return 0;
    }
    SPM_CATCH(host, err, where)
}

const mto_tokenizer_ops spm_ops = {
    sizeof(mto_tokenizer_ops),
    spm_load,
    spm_encode,
    spm_decode,
    spm_vocab_size,
    spm_piece_to_id,
    spm_train,
    spm_destroy,
};

const mto_plugin_desc spm_desc = {
    MTO_PLUGIN_DESC_HEADER,
    MTO_KIND_TOKENIZER,
    "sentencepiece",
    "1.0",
    "SentencePiece (libsentencepiece) with T5 ids: pad 0, eos 1, unk 2, 100 sentinels on top",
    &spm_ops,
};

} // namespace

extern "C" MTO_PLUGIN_EXPORT int mto_plugin_init(const mto_host *host, mto_registrar *reg,
                                                 mto_error *err)
{
    /* The last host function this plugin uses is register_plugin (ABI 1). */
    if (!host || host->abi_version < 1 ||
        host->struct_size < offsetof(mto_host, register_plugin) + sizeof host->register_plugin)
        return host ? host->error(err, MTO_EABI, "sentencepiece: host too old") : MTO_EABI;
    try {
        return host->register_plugin(reg, &spm_desc, err);
    }
    SPM_CATCH(host, err, "sentencepiece")
}
