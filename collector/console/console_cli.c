/* console_cli.c - `collector staff-user add NAME ROLE`: the password comes from standard input
 * (one line), never from the command line, where other users could read it (ps). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "col_console.h"
#include "col_console_auth.h"

int col_console_user_cli(const char *users_file, int argc, char **argv, FILE *in, FILE *err)
{
    char password[COL_CONSOLE_PASSWORD_MAX + 2];
    char msg[300];
    enum col_console_role role;
    size_t n;
    int rc;

    if (argc != 3 || strcmp(argv[0], "add") != 0) {
        fprintf(err, "usage: collector staff-user add NAME viewer|operator|approver -c CONFIG "
                     "(password on standard input)\n");
        return 2;
    }
    role = col_console_role_parse(argv[2]);
    if (!col_console_name_ok(argv[1]) || role == COL_CONSOLE_NONE) {
        fprintf(err, "collector: a user name is [a-z0-9._-]{1,32}; a role is viewer, operator or "
                     "approver\n");
        return 2;
    }
    if (users_file == NULL || users_file[0] == '\0') {
        fprintf(err, "collector: console.users_file is not set in the config\n");
        return 1;
    }
    if (col_console_crypto_init() != 0 || fgets(password, sizeof(password), in) == NULL) {
        fprintf(err, "collector: no password on standard input\n");
        return 1;
    }
    n = strcspn(password, "\r\n");
    if (password[n] == '\0' && n > COL_CONSOLE_PASSWORD_MAX) {
        fprintf(err, "collector: the password is longer than %d bytes\n", COL_CONSOLE_PASSWORD_MAX);
        return 1;
    }
    password[n] = '\0';
    rc = col_console_user_put(users_file, argv[1], role, password, msg, sizeof(msg));
    sodium_memzero(password, sizeof(password));
    if (rc != 0) {
        fprintf(err, "collector: %s\n", msg);
        return 1;
    }
    fprintf(err, "%s: %s has the role %s\n", users_file, argv[1], argv[2]);
    return 0;
}
