/* console_auth.c - accounts (the users file), argon2id password hashes (libsodium), sessions,
 * CSRF tokens and lockout. Contract: col_console_auth.h; tests: tests/unit/console. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_console_auth.h"
#include "ct/err.h"

#define USERS_FILE_MAX (1u << 20) /* a users file larger than this is refused */

int col_console_crypto_init(void)
{
    return sodium_init() < 0 ? CT_E_INVAL : 0;
}

static const char *const role_names[] = {"none", "viewer", "operator", "approver"};

enum col_console_role col_console_role_parse(const char *s)
{
    for (int r = COL_CONSOLE_VIEWER; r <= COL_CONSOLE_APPROVER; r++) {
        if (s != NULL && strcmp(s, role_names[r]) == 0) {
            return (enum col_console_role)r;
        }
    }
    return COL_CONSOLE_NONE;
}

const char *col_console_role_name(enum col_console_role role)
{
    return (unsigned)role <= COL_CONSOLE_APPROVER ? role_names[role] : "none";
}

bool col_console_role_allows(enum col_console_role have, enum col_console_role need)
{
    return need != COL_CONSOLE_NONE && have >= need;
}

bool col_console_name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > COL_CONSOLE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

void col_console_users_free(struct col_console_users *u)
{
    if (u == NULL) {
        return;
    }
    sodium_memzero(u->v, u->n * sizeof(*u->v));
    free(u->v);
    u->v = NULL;
    u->n = 0;
}

/* Parses one "name:role:hash" line (NUL-terminated, no newline) into *out. */
static bool parse_line(char *line, struct col_console_user *out)
{
    char *c1 = strchr(line, ':');
    char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;

    if (c2 == NULL) {
        return false;
    }
    *c1 = '\0';
    *c2 = '\0';
    memset(out, 0, sizeof(*out));
    if (!col_console_name_ok(line) || strlen(c2 + 1) >= sizeof(out->hash) ||
        strncmp(c2 + 1, "$argon2id$", 10) != 0) {
        return false;
    }
    out->role = col_console_role_parse(c1 + 1);
    if (out->role == COL_CONSOLE_NONE) {
        return false;
    }
    size_t nl = strlen(line);
    size_t hl = strlen(c2 + 1);
    if (nl >= sizeof(out->name)) {
        return false;
    }
    memcpy(out->name, line, nl + 1);
    memcpy(out->hash, c2 + 1, hl + 1); /* hl < sizeof(out->hash): checked above */
    return true;
}

int col_console_users_parse(const char *text, size_t len, struct col_console_users *out, char *err,
                            size_t errcap)
{
    struct col_console_users u = {0};
    size_t cap = 0;
    size_t lineno = 0;
    char line[COL_CONSOLE_NAME_MAX + COL_CONSOLE_HASH_MAX + 32];
    int rc = 0;

    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        lineno++;
        if (n > 0 && text[pos + n - 1] == '\r') {
            n--;
        }
        if (n >= sizeof(line)) {
            snprintf(err, errcap, "users file line %zu: too long", lineno);
            rc = CT_E_PARSE;
            goto out_fail;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = nl != NULL ? (size_t)(nl - text) + 1 : len;
        if (n == 0 || line[0] == '#') {
            continue;
        }
        if (u.n == COL_CONSOLE_USERS_MAX) {
            snprintf(err, errcap, "users file: more than %d accounts", COL_CONSOLE_USERS_MAX);
            rc = CT_E_FULL;
            goto out_fail;
        }
        if (u.n == cap) {
            size_t ncap = cap != 0 ? cap * 2 : 8;
            struct col_console_user *nv = realloc(u.v, ncap * sizeof(*nv));
            if (nv == NULL) {
                rc = CT_E_NOMEM;
                goto out_fail;
            }
            u.v = nv;
            cap = ncap;
        }
        if (!parse_line(line, &u.v[u.n])) {
            snprintf(err, errcap,
                     "users file line %zu: expected name:role:hash (name [a-z0-9._-]{1,32}, role "
                     "viewer|operator|approver, an argon2id hash)",
                     lineno);
            rc = CT_E_PARSE;
            goto out_fail;
        }
        if (col_console_user_find(&u, u.v[u.n].name) != NULL) {
            snprintf(err, errcap, "users file line %zu: user \"%s\" again", lineno, u.v[u.n].name);
            rc = CT_E_PARSE;
            goto out_fail;
        }
        u.n++;
    }
    *out = u;
    return 0;
out_fail:
    col_console_users_free(&u);
    return rc;
}

int col_console_users_load(const char *path, struct col_console_users *out, char *err,
                           size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *text;
    size_t len;
    int rc;

    if (f == NULL) {
        if (errno == ENOENT) {
            out->v = NULL;
            out->n = 0;
            return 0;
        }
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return CT_E_IO;
    }
    text = malloc(USERS_FILE_MAX + 1);
    if (text == NULL) {
        fclose(f);
        return CT_E_NOMEM;
    }
    len = fread(text, 1, USERS_FILE_MAX + 1, f);
    if (ferror(f) || len > USERS_FILE_MAX) {
        snprintf(err, errcap, "%s: unreadable or larger than %u bytes", path, USERS_FILE_MAX);
        rc = CT_E_IO;
    } else {
        rc = col_console_users_parse(text, len, out, err, errcap);
    }
    sodium_memzero(text, len < USERS_FILE_MAX ? len : USERS_FILE_MAX);
    free(text);
    fclose(f);
    return rc;
}

struct col_console_user *col_console_user_find(struct col_console_users *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].name, name) == 0) {
            return &u->v[i];
        }
    }
    return NULL;
}

int col_console_password_hash(const char *password, unsigned long long opslimit, size_t memlimit,
                              char *out)
{
    size_t n = password != NULL ? strlen(password) : 0;

    if (n == 0 || n > COL_CONSOLE_PASSWORD_MAX) {
        return CT_E_INVAL;
    }
    if (opslimit == 0) {
        opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    }
    _Static_assert(crypto_pwhash_STRBYTES <= COL_CONSOLE_HASH_MAX, "argon2id string fits");
    if (crypto_pwhash_str(out, password, n, opslimit, memlimit) != 0) {
        return CT_E_NOMEM;
    }
    return 0;
}

bool col_console_password_ok(const char *hash, const char *password)
{
    size_t n = password != NULL ? strlen(password) : 0;

    if (hash == NULL || n == 0 || n > COL_CONSOLE_PASSWORD_MAX) {
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, n) == 0;
}

int col_console_user_put(const char *path, const char *name, enum col_console_role role,
                         const char *password, char *err, size_t errcap)
{
    struct col_console_users u = {0};
    struct col_console_user *found;
    char hash[COL_CONSOLE_HASH_MAX];
    char tmp[4096];
    FILE *f = NULL;
    int fd;
    int rc;

    if (!col_console_name_ok(name) || role == COL_CONSOLE_NONE) {
        snprintf(err, errcap, "bad user name or role");
        return CT_E_INVAL;
    }
    rc = col_console_password_hash(password, 0, 0, hash);
    if (rc != 0) {
        snprintf(err, errcap, "the password must have 1 to %d bytes", COL_CONSOLE_PASSWORD_MAX);
        return rc;
    }
    rc = col_console_users_load(path, &u, err, errcap);
    if (rc != 0) {
        return rc;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        rc = CT_E_IO;
        if (fd >= 0) {
            close(fd);
        }
        goto out_free;
    }
    fprintf(f, "# citytel staff console accounts: name:role:argon2id hash\n");
    found = col_console_user_find(&u, name);
    for (size_t i = 0; i < u.n; i++) {
        if (&u.v[i] == found) {
            fprintf(f, "%s:%s:%s\n", name, col_console_role_name(role), hash);
        } else {
            fprintf(f, "%s:%s:%s\n", u.v[i].name, col_console_role_name(u.v[i].role), u.v[i].hash);
        }
    }
    if (found == NULL) {
        fprintf(f, "%s:%s:%s\n", name, col_console_role_name(role), hash);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        rc = CT_E_IO;
    }
out_free:
    col_console_users_free(&u);
    return rc;
}

bool col_console_locked(const struct col_console_user *u, int64_t now_ms, int64_t *until_ms)
{
    bool locked = u->locked_until_ms != 0 && now_ms < u->locked_until_ms;

    if (until_ms != NULL) {
        *until_ms = locked ? u->locked_until_ms : 0;
    }
    return locked;
}

bool col_console_failed(struct col_console_user *u, int64_t now_ms, uint32_t max_failures,
                        int64_t lockout_ms)
{
    u->failures++;
    if (max_failures != 0 && u->failures >= max_failures) {
        u->failures = 0;
        u->locked_until_ms = now_ms + lockout_ms;
        return true;
    }
    return false;
}

void col_console_succeeded(struct col_console_user *u)
{
    u->failures = 0;
    u->locked_until_ms = 0;
}

int col_console_sessions_init(struct col_console_sessions *s, size_t cap, int64_t idle_ms,
                              int64_t max_ms)
{
    if (cap == 0 || idle_ms <= 0 || max_ms <= 0) {
        return CT_E_INVAL;
    }
    s->v = calloc(cap, sizeof(*s->v));
    if (s->v == NULL) {
        return CT_E_NOMEM;
    }
    s->cap = cap;
    s->idle_ms = idle_ms;
    s->max_ms = max_ms;
    return 0;
}

void col_console_sessions_free(struct col_console_sessions *s)
{
    if (s == NULL || s->v == NULL) {
        return;
    }
    sodium_memzero(s->v, s->cap * sizeof(*s->v));
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

static void random_hex(char out[COL_CONSOLE_TOKEN_HEX + 1])
{
    unsigned char raw[COL_CONSOLE_TOKEN_HEX / 2];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(out, COL_CONSOLE_TOKEN_HEX + 1, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
}

int col_console_session_new(struct col_console_sessions *s, const char *user,
                            enum col_console_role role, int64_t now_ms,
                            struct col_console_session **out)
{
    struct col_console_session *slot = NULL;

    for (size_t i = 0; i < s->cap && slot == NULL; i++) {
        if (s->v[i].token[0] == '\0') {
            slot = &s->v[i];
        }
    }
    for (size_t i = 0; i < s->cap && slot == NULL; i++) {
        if (now_ms - s->v[i].last_ms >= s->idle_ms || now_ms - s->v[i].created_ms >= s->max_ms) {
            slot = &s->v[i];
        }
    }
    if (slot == NULL) {
        slot = &s->v[0];
        for (size_t i = 1; i < s->cap; i++) {
            if (s->v[i].last_ms < slot->last_ms) {
                slot = &s->v[i];
            }
        }
    }
    if (user == NULL || !col_console_name_ok(user) || role == COL_CONSOLE_NONE) {
        return CT_E_INVAL;
    }
    memset(slot, 0, sizeof(*slot));
    random_hex(slot->token);
    random_hex(slot->csrf);
    snprintf(slot->user, sizeof(slot->user), "%s", user);
    slot->role = role;
    slot->created_ms = now_ms;
    slot->last_ms = now_ms;
    *out = slot;
    return 0;
}

/* The slot holding 'token', compared in constant time, or NULL. */
static struct col_console_session *find(struct col_console_sessions *s, const char *token)
{
    struct col_console_session *hit = NULL;

    if (token == NULL || strlen(token) != COL_CONSOLE_TOKEN_HEX) {
        return NULL;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->v[i].token[0] != '\0' &&
            sodium_memcmp(s->v[i].token, token, COL_CONSOLE_TOKEN_HEX) == 0) {
            hit = &s->v[i];
        }
    }
    return hit;
}

enum col_console_sess col_console_session_get(struct col_console_sessions *s, const char *token,
                                              int64_t now_ms, struct col_console_session **out)
{
    struct col_console_session *sess = find(s, token);

    if (sess == NULL) {
        return COL_CONSOLE_SESS_NONE;
    }
    if (now_ms - sess->last_ms >= s->idle_ms || now_ms - sess->created_ms >= s->max_ms) {
        memset(sess, 0, sizeof(*sess));
        return COL_CONSOLE_SESS_EXPIRED;
    }
    sess->last_ms = now_ms;
    *out = sess;
    return COL_CONSOLE_SESS_OK;
}

void col_console_session_end(struct col_console_sessions *s, const char *token)
{
    struct col_console_session *sess = find(s, token);

    if (sess != NULL) {
        sodium_memzero(sess, sizeof(*sess));
    }
}

void col_console_session_end_user(struct col_console_sessions *s, const char *user)
{
    for (size_t i = 0; i < s->cap; i++) {
        if (s->v[i].token[0] != '\0' && strcmp(s->v[i].user, user) == 0) {
            sodium_memzero(&s->v[i], sizeof(s->v[i]));
        }
    }
}

void col_console_session_set_role(struct col_console_sessions *s, const char *user,
                                  enum col_console_role role)
{
    for (size_t i = 0; i < s->cap; i++) {
        if (s->v[i].token[0] != '\0' && strcmp(s->v[i].user, user) == 0) {
            s->v[i].role = role;
        }
    }
}

bool col_console_csrf_ok(const struct col_console_session *sess, const char *header)
{
    return header != NULL && strlen(header) == COL_CONSOLE_TOKEN_HEX &&
           sodium_memcmp(sess->csrf, header, COL_CONSOLE_TOKEN_HEX) == 0;
}

bool col_console_cookie(const char *header, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);

    for (const char *p = header; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        const char *end = strchr(p, ';');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = n - nlen - 1;
            if (vlen >= cap) {
                return false;
            }
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}
