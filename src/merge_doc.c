/*
 * tcplens merge reading a shard's JSON document (--json): turned into the
 * NDJSON the merge reads, its connections first, each as its NDJSON line,
 * then a summary record made of the document's head. The document's
 * layout is tcplens's own: the head pretty-printed, then
 * `  "connections": [`, one connection a line (a comma after all but the
 * last), `  ]` and `}`; anything else is not a tcplens document.
 */
#include "merge_doc.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CONNECTIONS_OPEN "  \"connections\": ["
#define CONNECTIONS_NONE "  \"connections\": []"
#define CONNECTIONS_CLOSE "  ]"
#define CONN_RECORD "{\"record\":\"connection\","

struct reader {
    FILE *in, *err;
    const char *name;
    char *line;
    size_t cap;
    ssize_t len;
    unsigned long long lineno;
};

static bool fail(const struct reader *r, const char *why)
{
    fprintf(r->err, "tcplens merge: %s:%llu: %s\n", r->name, r->lineno, why);
    return false;
}

/* The next line, its newline cut; false at the end (or on an error). */
static bool next(struct reader *r)
{
    r->len = getline(&r->line, &r->cap, r->in);
    if (r->len < 0)
        return false;
    r->lineno++;
    if (r->len > 0 && r->line[r->len - 1] == '\n')
        r->line[--r->len] = '\0';
    return true;
}

/* The head, up to the connections, with an empty list closing it;
 * *none: the document's list is empty (written on its line). NULL when
 * there is no list (errno 0) or short of memory. */
static char *read_head(struct reader *r, size_t *n, bool *none)
{
    char *head = NULL;
    FILE *m = open_memstream(&head, n);
    bool found = false, ok = m != NULL;
    while (ok && !found && next(r)) {
        *none = strcmp(r->line, CONNECTIONS_NONE) == 0;
        found = *none || strcmp(r->line, CONNECTIONS_OPEN) == 0;
        ok = fprintf(m, "%s\n", found ? "\"connections\": []}" : r->line) >= 0;
    }
    if (m != NULL && fclose(m) != 0)
        ok = false;
    if (ok && found)
        return head;
    free(head);
    errno = ok ? 0 : ENOMEM;
    return NULL;
}

/* The summary record the merge reads: the head's inputs, capture and
 * counts. */
static bool write_summary(struct reader *r, const char *head, size_t n, FILE *out)
{
    json_t *doc = json_loadb(head, n, 0, NULL), *rec = json_object();
    bool ok = doc != NULL && rec != NULL &&
              json_object_set_new(rec, "record", json_string("summary")) == 0;
    static const char *const keys[] = {"inputs", "capture", "summary"};
    for (size_t i = 0; ok && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(doc, keys[i]);
        ok = v != NULL && json_object_set(rec, keys[i], v) == 0;
    }
    if (ok)
        ok = json_dumpf(rec, out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
             fputc('\n', out) != EOF;
    else
        fail(r,
             doc == NULL ? "its head is not JSON" : "its head has no inputs, capture or summary");
    json_decref(doc);
    json_decref(rec);
    return ok;
}

/* The connection lines, each as an NDJSON record, up to the list's end. */
static bool write_connections(struct reader *r, FILE *out)
{
    while (next(r)) {
        if (strcmp(r->line, CONNECTIONS_CLOSE) == 0)
            return next(r) && strcmp(r->line, "}") == 0 ? true
                                                        : fail(r, "no '}' after the connections");
        char *s = r->line + strspn(r->line, " ");
        size_t k = strlen(s);
        if (k > 0 && s[k - 1] == ',')
            s[--k] = '\0';
        if (strncmp(s, "{\"id\":", 6) != 0)
            return fail(r, "not a connection of a tcplens JSON document");
        if (fprintf(out, "%s%s\n", CONN_RECORD, s + 1) < 0)
            return fail(r, "cannot write a temporary file");
    }
    return fail(r, "the document ends inside its connections (cut short?)");
}

bool tl_merge_doc_is(FILE *in)
{
    int a = fgetc(in), b = fgetc(in);
    bool doc = a == '{' && b == '\n';
    return fseeko(in, 0, SEEK_SET) == 0 && doc;
}

FILE *tl_merge_doc_ndjson(FILE *in, const char *name, FILE *err)
{
    struct reader r = {in, err, name, NULL, 0, 0, 0};
    FILE *out = tmpfile();
    size_t n = 0;
    char *head = NULL;
    bool none = false;
    bool ok = out != NULL || fail(&r, "cannot make a temporary file");
    if (ok && (head = read_head(&r, &n, &none)) == NULL)
        ok = fail(&r, errno == ENOMEM ? "out of memory" : "not a tcplens JSON document");
    if (ok && none && !(next(&r) && strcmp(r.line, "}") == 0))
        ok = fail(&r, "no '}' after the connections");
    ok = ok && (none || write_connections(&r, out)) && write_summary(&r, head, n, out);
    if (ok && (fflush(out) != 0 || fseeko(out, 0, SEEK_SET) != 0))
        ok = fail(&r, "cannot write a temporary file");
    free(head);
    free(r.line);
    if (!ok && out != NULL) {
        fclose(out);
        out = NULL;
    }
    return out;
}
