/* ct/key.h - the one reader of key files and key text (the master key, a device key), used by the
 * collector, the firmware, the simulator, the benches and the tests' tools alike, so a key file
 * accepted by one program is accepted by all.
 *
 * The rule: hex digits (either case), an even number of them, with white space (space, tab, CR,
 * LF) around them ignored and none inside; at least 'min_len' bytes and at most 'cap'. A file is
 * at most CT_KEY_FILE_MAX bytes. The key is never logged here; callers zeroise it after use. */
#ifndef CT_KEY_H
#define CT_KEY_H
#include <stddef.h>
#include <stdint.h>

#define CT_KEY_FILE_MAX 4096
#define CT_KEY_MASTER_MIN 16 /* a master key has at least 128 bits (32 hex digits) */
#define CT_KEY_DEVICE_LEN 32 /* a device key is HKDF-SHA256 output: 32 bytes */

/* Parses key text. Returns 0, CT_E_PARSE (not hex, odd, empty or shorter than min_len) or
 * CT_E_TOOBIG (longer than cap). */
int ct_key_parse(const char *text, size_t len, size_t min_len, uint8_t *out, size_t cap,
                 size_t *out_len);

/* Reads and parses a key file. 'mode' (may be NULL) gets the file's permission bits, so a caller
 * can refuse a key readable by group or others. Returns ct_key_parse()'s codes, or CT_E_IO
 * (errno set) when the file cannot be opened or read, CT_E_TOOBIG when it is over
 * CT_KEY_FILE_MAX bytes. */
int ct_key_read_file(const char *path, size_t min_len, uint8_t *out, size_t cap, size_t *out_len,
                     unsigned *mode);

#endif
