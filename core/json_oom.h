/* json_oom.h — was a failed jansson parse a syntax error or an allocation
 * failure? jansson's lexer reports some allocation failures as syntax errors
 * ("string or '}' expected"); a real syntax error is reproducible, so a second
 * parse that fails differently (or succeeds) means memory ran out. Used by the
 * safetensors and config.json readers; the retry runs only on the error path. */
#ifndef MTO_JSON_OOM_H
#define MTO_JSON_OOM_H

#include <stddef.h>

#include <jansson.h>

/* 1 if the failed parse of text[0..len) with flags, whose error is *first,
 * was an allocation failure rather than bad JSON. */
int mto_json_failed_for_memory(const char *text, size_t len, size_t flags, const json_error_t *first);

#endif
