/* doc_main.c - collector-config-doc: prints docs/config.md (the key table) to stdout, or to the
 * file named by its one argument. Exit status 0 on success, 1 on failure. */
#include <stdio.h>

#include "col_config.h"
#include "ct/buf.h"

int main(int argc, char **argv)
{
    struct ct_buf doc;
    ct_buf_init(&doc, 1024 * 1024);
    if (argc > 2 || col_config_doc(&doc) != 0) {
        fprintf(stderr, "usage: collector-config-doc [output.md]\n");
        ct_buf_free(&doc);
        return 1;
    }
    FILE *f = argc == 2 ? fopen(argv[1], "w") : stdout;
    int ok = f != NULL && fwrite(doc.p, 1, doc.len, f) == doc.len;
    if (argc == 2 && f != NULL) {
        ok = fclose(f) == 0 && ok;
    }
    ct_buf_free(&doc);
    if (!ok) {
        fprintf(stderr, "collector-config-doc: cannot write %s\n", argc == 2 ? argv[1] : "stdout");
        return 1;
    }
    return 0;
}
