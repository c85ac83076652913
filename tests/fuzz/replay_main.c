/* SPDX-License-Identifier: MIT */
/* Runs every file of the corpus directories (or single files) named on the command line through
 * LLVMFuzzerTestOneInput, so an ordinary gcc + sanitizer build replays the committed corpora
 * without libFuzzer. Exits non-zero if a path cannot be read or holds no input. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "xgw/alloc.h"

/* Reads a whole file into a fresh allocation (never NULL for a readable file, even if empty:
 * the target gets a valid pointer). Returns false if it cannot be read. */
static bool read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 4096, len = 0;
    uint8_t *buf = xgw_malloc(cap);
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        cap *= 2;
        buf = xgw_realloc(buf, cap);
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        xgw_free(buf);
        return false;
    }
    *data = buf;
    *size = len;
    return true;
}

static bool run_file(const char *path)
{
    uint8_t *data;
    size_t size;
    if (!read_file(path, &data, &size)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return false;
    }
    /* A copy of exactly `size` bytes, so ASan sees reads past the input as overflows. */
    uint8_t *exact = xgw_malloc(size ? size : 1);
    memcpy(exact, data, size);
    xgw_free(data);
    (void)LLVMFuzzerTestOneInput(exact, size);
    xgw_free(exact);
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file directly in dir, in name order; *count is increased per file. */
static bool run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return false;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xgw_realloc(names, cap * sizeof(*names));
        }
        names[n++] = xgw_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), compare_names);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = xgw_malloc(len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ok = run_file(path) && ok;
            (*count)++;
        }
        xgw_free(path);
        xgw_free(names[i]);
    }
    xgw_free(names);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    bool ok = true;
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            ok = run_dir(argv[i], &count) && ok;
        } else {
            ok = run_file(argv[i]) && ok;
            count++;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %zu inputs run\n", count);
    return ok ? 0 : 1;
}
