/* mto/template.h — run a template plugin from C: a record in, the (input
 * text, target text) pair out, through the validated ops table. */
#ifndef MTO_TEMPLATE_H
#define MTO_TEMPLATE_H

#include <stdint.h>

#include "mto/error.h"
#include "mto/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mto_template mto_template;

/* Make an instance of template plugin `name` with opts (may be NULL). */
int mto_template_open(const char *name, const mto_options *opts, mto_template **tpl, mto_error *err);
/* Free an instance (NULL is fine). */
void mto_template_free(mto_template *tpl);
/* Append the record's input text and target text to input and target. */
int mto_template_render(mto_template *tpl, const mto_record *rec, mto_text *input, mto_text *target,
                        mto_error *err);
/* The plugin's MTO_TEMPLATE_* flags. */
uint32_t mto_template_flags(const mto_template *tpl);
/* The plugin's registered name. */
const char *mto_template_name(const mto_template *tpl);

#ifdef __cplusplus
}
#endif
#endif
