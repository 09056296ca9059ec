/* col_console_auth.h - the staff console's accounts, sessions, CSRF tokens and lockout: pure
 * logic over the caller's clock (now_ms), no I/O except the users file, no libuv. Password
 * hashing is libsodium's argon2id (crypto_pwhash_str): slow by design, so the console runs
 * col_console_password_ok() on the libuv thread pool, never on the loop.
 *
 * The users file: one account a line, "name:role:hash" (role viewer, operator or approver; hash
 * the argon2id string crypto_pwhash_str gives), '#' starts a comment line. Written by
 * `collector staff-user add NAME ROLE` (password on stdin), mode 0600.
 *
 * Roles are ordered: an approver may do what an operator may, an operator what a viewer may.
 *
 * Threading: a struct here belongs to one thread (the loop); col_console_password_ok and
 * col_console_password_hash touch no shared state and may run on any thread. */
#ifndef COL_CONSOLE_AUTH_H
#define COL_CONSOLE_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_CONSOLE_NAME_MAX 32    /* bytes of a user name: [a-z0-9._-]{1,32} */
#define COL_CONSOLE_HASH_MAX 128   /* room for an argon2id string (crypto_pwhash_STRBYTES) */
#define COL_CONSOLE_TOKEN_HEX 64   /* a session or CSRF token: 32 random bytes in hex */
#define COL_CONSOLE_USERS_MAX 1000 /* accounts in one file */
#define COL_CONSOLE_PASSWORD_MAX 256

enum col_console_role {
    COL_CONSOLE_NONE = 0,
    COL_CONSOLE_VIEWER = 1,
    COL_CONSOLE_OPERATOR = 2,
    COL_CONSOLE_APPROVER = 3,
};

struct col_console_user {
    char name[COL_CONSOLE_NAME_MAX + 1];
    enum col_console_role role;
    char hash[COL_CONSOLE_HASH_MAX];
    uint32_t failures;       /* wrong passwords since the last success or lock */
    int64_t locked_until_ms; /* 0 = not locked */
};

struct col_console_users {
    struct col_console_user *v; /* owned */
    size_t n;
};

struct col_console_session {
    char token[COL_CONSOLE_TOKEN_HEX + 1]; /* "" = free slot */
    char csrf[COL_CONSOLE_TOKEN_HEX + 1];
    char user[COL_CONSOLE_NAME_MAX + 1];
    enum col_console_role role;
    int64_t created_ms;
    int64_t last_ms; /* last request */
};

struct col_console_sessions {
    struct col_console_session *v; /* owned; cap slots */
    size_t cap;
    int64_t idle_ms; /* a session unused this long has expired */
    int64_t max_ms;  /* and any session this old */
};

enum col_console_sess { COL_CONSOLE_SESS_OK = 0, COL_CONSOLE_SESS_NONE, COL_CONSOLE_SESS_EXPIRED };

/* Calls sodium_init(); returns 0 or CT_E_INVAL when libsodium cannot start. Idempotent. */
int col_console_crypto_init(void);

/* "viewer" -> COL_CONSOLE_VIEWER; COL_CONSOLE_NONE for anything else. */
enum col_console_role col_console_role_parse(const char *s);
/* The role's name ("viewer"); "none" for COL_CONSOLE_NONE. */
const char *col_console_role_name(enum col_console_role role);
/* True when 'have' may do what 'need' is required for. */
bool col_console_role_allows(enum col_console_role have, enum col_console_role need);
/* True for a valid user name: [a-z0-9._-]{1,32}. */
bool col_console_name_ok(const char *name);

/* Parses a users file's text (borrowed). Fills *out (the caller frees it with
 * col_console_users_free). Returns 0, CT_E_PARSE (the line is named in err), CT_E_FULL (more than
 * COL_CONSOLE_USERS_MAX) or CT_E_NOMEM; on error *out is empty. */
int col_console_users_parse(const char *text, size_t len, struct col_console_users *out, char *err,
                            size_t errcap);
/* Reads and parses 'path'. A missing file gives no accounts (0). Same errors, plus CT_E_IO. */
int col_console_users_load(const char *path, struct col_console_users *out, char *err,
                           size_t errcap);
void col_console_users_free(struct col_console_users *u);
/* Borrowed; NULL when unknown. */
struct col_console_user *col_console_user_find(struct col_console_users *u, const char *name);

/* Hashes 'password' with argon2id (opslimit, memlimit as crypto_pwhash_str takes them; 0, 0 =
 * the INTERACTIVE limits) into out (COL_CONSOLE_HASH_MAX bytes). Returns 0, CT_E_INVAL (empty or
 * longer than COL_CONSOLE_PASSWORD_MAX) or CT_E_NOMEM. Slow: never on the loop. */
int col_console_password_hash(const char *password, unsigned long long opslimit, size_t memlimit,
                              char *out);
/* True when 'password' matches the argon2id string 'hash'. Slow: never on the loop. */
bool col_console_password_ok(const char *hash, const char *password);

/* Adds the account 'name' (or replaces its role and password) in the users file 'path',
 * writing a temporary file and renaming it (mode 0600). Returns 0, CT_E_INVAL (bad name, role or
 * password), CT_E_PARSE (the existing file is bad: err says where), CT_E_IO or CT_E_NOMEM. */
int col_console_user_put(const char *path, const char *name, enum col_console_role role,
                         const char *password, char *err, size_t errcap);

/* Lockout. True while 'u' is locked at now_ms (*until_ms, when not NULL, says until when). */
bool col_console_locked(const struct col_console_user *u, int64_t now_ms, int64_t *until_ms);
/* A wrong password: after max_failures in a row (0 = never) the account is locked for
 * lockout_ms. Returns true when this failure locked it. */
bool col_console_failed(struct col_console_user *u, int64_t now_ms, uint32_t max_failures,
                        int64_t lockout_ms);
/* A right password: the failure count starts again. */
void col_console_succeeded(struct col_console_user *u);

/* Sessions. Creates the table (cap >= 1 slots). Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_console_sessions_init(struct col_console_sessions *s, size_t cap, int64_t idle_ms,
                              int64_t max_ms);
void col_console_sessions_free(struct col_console_sessions *s);
/* A new session with fresh random session and CSRF tokens. When the table is full, the least
 * recently used session is ended to make room. *out is borrowed until the next call here. */
int col_console_session_new(struct col_console_sessions *s, const char *user,
                            enum col_console_role role, int64_t now_ms,
                            struct col_console_session **out);
/* Looks 'token' up (constant-time comparison per slot). OK: *out is set and its last use is now.
 * EXPIRED: it existed but is past idle_ms or max_ms; it is ended. NONE: unknown. */
enum col_console_sess col_console_session_get(struct col_console_sessions *s, const char *token,
                                              int64_t now_ms, struct col_console_session **out);
/* Ends the session with 'token' (if any). */
void col_console_session_end(struct col_console_sessions *s, const char *token);
/* Ends every session of 'user' (after a password or role change). */
void col_console_session_end_user(struct col_console_sessions *s, const char *user);
/* Gives every session of 'user' the role 'role' (its next request is judged with it). */
void col_console_session_set_role(struct col_console_sessions *s, const char *user,
                                  enum col_console_role role);
/* True when 'header' (the X-CSRF-Token value, may be NULL) equals the session's CSRF token
 * (constant time). */
bool col_console_csrf_ok(const struct col_console_session *sess, const char *header);

/* The value of cookie 'name' in a Cookie header (may be NULL) copied into out (cap bytes).
 * Returns true when found and it fits. */
bool col_console_cookie(const char *header, const char *name, char *out, size_t cap);

#endif
