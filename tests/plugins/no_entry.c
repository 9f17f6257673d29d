/* no_entry.c — a shared object without mto_plugin_init; the host must refuse it. */
int not_an_mto_plugin(void);
int not_an_mto_plugin(void) { return 42; }
