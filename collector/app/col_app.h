/* col_app.h - the collector as a whole: load the config, wire the modules, run the loop. */
#ifndef COL_APP_H
#define COL_APP_H
#include <stdbool.h>

struct col_app_opts {
    const char *config_path; /* borrowed: the JSON config file */
};

/* Runs the collector until SIGINT/SIGTERM. Returns the process exit code: 0 after a clean stop,
 * 1 when start-up failed (the reason was logged). */
int col_app_run(const struct col_app_opts *opts);

/* Loads and checks everything `run` loads before it starts (config, registry, key files, MQTT
 * password file, URI and TLS files) without connecting or writing. Prints "<config>: ok ..." on
 * stdout; each failure is logged on stderr naming its file. Returns the exit code: 0 or 1. */
int col_app_check(const struct col_app_opts *opts);

#endif
