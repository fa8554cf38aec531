/*
 * Runs a fuzz harness over saved inputs, with any compiler: each argument
 * is a file, or a directory whose files are all run. Prints TAP, one line
 * per input; a crash or a sanitizer report fails the test run. This is how
 * `make check` keeps the corpus (tests/fuzz/corpus/) passing.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, int *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (b == NULL) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = b;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s (%zu bytes)\n", ++*n, path, len);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's files in name order, so runs are comparable. */
static int run_dir(const char *dir, int *n)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 1;
    char **names = NULL;
    size_t k = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (k + 1) * sizeof *names);
        if (nn == NULL) {
            rc = 1;
            break;
        }
        names = nn;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[k] = malloc(len);
        if (names[k] == NULL) {
            rc = 1;
            break;
        }
        snprintf(names[k++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (k > 1)
        qsort(names, k, sizeof *names, cmp);
    for (size_t i = 0; i < k; i++) {
        rc |= run_file(names[i], n);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            printf("not ok %d - %s: cannot read\n", ++n, argv[i]);
            rc = 1;
        } else {
            rc |= S_ISDIR(st.st_mode) ? run_dir(argv[i], &n) : run_file(argv[i], &n);
        }
    }
    printf("1..%d\n", n);
    return rc;
}
