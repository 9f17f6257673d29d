/* fake_host_readers.h — a tiny stand-in for libmto's host table, so a reader's
 * parsing core can be compiled alone into a fuzz binary or a quick check. */
#ifndef MTO_FAKE_HOST_READERS_H
#define MTO_FAKE_HOST_READERS_H

#include "mto/plugin.h"

/* The host table; records emitted to a sink are counted (and printed when
 * the sink's `print` flag is set), then freed. */
const mto_host *fake_host(void);

struct mto_record_sink { long nrecords; int print; long counts[8]; const char *names[8]; };
struct mto_options { const char *kv[64]; int n; }; /* key, value, key, value, ... */

#endif
