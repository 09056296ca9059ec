/* main.c - the collector program: parse the command line and hand over. Nothing else. */
#include <stdio.h>
#include <string.h>

#include "col_app.h"
#include "col_console.h"
#include "col_config.h"
#include "col_indices.h"

/* The installed layout (cmake/CtInstall.cmake sets these). */
#ifndef CT_SYSCONFDIR
#define CT_SYSCONFDIR "/etc/citytel"
#endif
#ifndef CT_STATEDIR
#define CT_STATEDIR "/var/lib/citytel"
#endif
#ifndef CT_MAPDIR
#define CT_MAPDIR "/usr/share/citytel/map"
#endif

static void usage(FILE *f)
{
    static const char *const files[][2] = {
        {CT_SYSCONFDIR "/collector.json", "the config (docs/config.md)"},
        {CT_SYSCONFDIR "/registry.jsonl", "the stations (registry.path)"},
        {CT_SYSCONFDIR "/master.key", "fleet master key (security.master_key_file)"},
        {CT_SYSCONFDIR "/mqtt.password", "broker password (mqtt.password_file)"},
        {CT_STATEDIR "/spool", "the journal (spool.dir)"},
        {CT_STATEDIR "/quarantine.jsonl", "rejected messages (quarantine.path)"},
        {CT_MAPDIR, "the public map page (map.dir)"},
    };

    fprintf(f, "usage:\n"
               "  collector [run] -c CONFIG.json      run the collector\n"
               "  collector check-config -c CONFIG     load the config, registry, keys and TLS\n"
               "                                       files as run would, and exit\n"
               "  collector staff-user add NAME ROLE -c CONFIG\n"
               "                                       add a staff console account (role viewer,\n"
               "                                       operator or approver; password on stdin)\n"
               "  collector aqi <vn|us> <pollutant> <averaging> <value>...\n"
               "                                       print one AQI as JSON\n"
               "  collector --version\n"
               "\nfiles (as installed; the config sets each path):\n");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        fprintf(f, "  %-36s %s\n", files[i][0], files[i][1]);
    }
    fprintf(f, "signals: SIGHUP reloads the registry and the reloadable keys (docs/config.md);\n"
               "SIGTERM stops after handing the store what it accepts (the rest stays in the\n"
               "journal).\n");
}

/* `collector staff-user add NAME ROLE -c CONFIG`: the console's users file comes from the
 * config. */
static int staff_user(int argc, char **argv)
{
    const char *config = NULL;
    char *pos[4];
    int npos = 0;
    struct col_config cfg;
    char err[COL_CONFIG_ERR_MAX];
    int rc;

    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if (npos < 4) {
            pos[npos++] = argv[i];
        } else {
            npos = 5;
        }
    }
    if (config == NULL || npos > 4) {
        usage(stderr);
        return 2;
    }
    if (col_config_load(config, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rc = col_console_user_cli(cfg.console_users_file, npos, pos, stdin, stderr);
    col_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    const char *cmd = "run";
    int i = 1;

    if (argc >= 2 && strcmp(argv[1], "aqi") == 0) {
        return col_indices_aqi_cli(argc - 1, argv + 1, stdout, stderr);
    }
    if (argc >= 2 && strcmp(argv[1], "staff-user") == 0) {
        return staff_user(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("citytel collector %s\n", CT_VERSION);
        return 0;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        cmd = argv[1];
        i = 2;
    }
    for (; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "collector: unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (config == NULL) {
        fprintf(stderr, "collector: a config file is required (-c CONFIG.json)\n");
        usage(stderr);
        return 2;
    }
    struct col_app_opts opts = {.config_path = config};
    if (strcmp(cmd, "check-config") == 0) {
        return col_app_check(&opts);
    }
    if (strcmp(cmd, "run") != 0) {
        fprintf(stderr, "collector: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    return col_app_run(&opts);
}
