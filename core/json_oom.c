/* json_oom.c — see json_oom.h. */
#include "json_oom.h"

#include <string.h>

int mto_json_failed_for_memory(const char *text, size_t len, size_t flags, const json_error_t *first)
{
    if (json_error_code(first) == json_error_out_of_memory || !first->text[0]) return 1;
    json_error_t again;
    json_t *v = json_loadb(text, len, flags, &again);
    if (v) { /* parsed this time: the first failure was transient */
        json_decref(v);
        return 1;
    }
    return json_error_code(&again) == json_error_out_of_memory || again.position != first->position ||
           strcmp(again.text, first->text) != 0;
}
