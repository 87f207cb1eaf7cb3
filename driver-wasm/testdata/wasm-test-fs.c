/*
 * The file-system actions of the wasm driver's test module (see wasm-test.c): each prints one line, "ACTION PATH:
 * ok", "ACTION PATH: RESULT" or "ACTION PATH: failed (REASON)", so a test can tell what the module got through
 * links that point out of its root, whichever engine runs it.
 *   symlink TARGET PATH   link OLD NEW   mkdir PATH   rmdir PATH   unlink PATH   rename OLD NEW
 *   readlink PATH         stat PATH      lstat PATH   ls PATH      touch PATH
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int report(const char *act, const char *path, int rc) {
    if (rc == 0) {
        printf("%s %s: ok\n", act, path);
    } else {
        printf("%s %s: failed (%s)\n", act, path, strerror(errno));
    }
    return rc;
}

static const char *type_of(mode_t m) {
    return S_ISDIR(m) ? "dir" : S_ISREG(m) ? "file" : S_ISLNK(m) ? "link" : "other";
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        report("ls", path, -1);
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    printf("ls %s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

/* Runs the file-system action at argv[*i] if it is one; returns 0 when it was not (the caller goes on). */
int fs_action(int argc, char **argv, int *i) {
    const char *act = argv[*i];
    int two = *i + 2 < argc, one = *i + 1 < argc;
    struct stat st;
    if (!strcmp(act, "symlink") && two) {
        report("symlink", argv[*i + 2], symlink(argv[*i + 1], argv[*i + 2]));
        *i += 2;
    } else if (!strcmp(act, "link") && two) {
        report("link", argv[*i + 2], link(argv[*i + 1], argv[*i + 2]));
        *i += 2;
    } else if (!strcmp(act, "rename") && two) {
        report("rename", argv[*i + 2], rename(argv[*i + 1], argv[*i + 2]));
        *i += 2;
    } else if (!strcmp(act, "mkdir") && one) {
        report("mkdir", argv[*i + 1], mkdir(argv[*i + 1], 0755));
        *i += 1;
    } else if (!strcmp(act, "rmdir") && one) {
        report("rmdir", argv[*i + 1], rmdir(argv[*i + 1]));
        *i += 1;
    } else if (!strcmp(act, "unlink") && one) {
        report("unlink", argv[*i + 1], unlink(argv[*i + 1]));
        *i += 1;
    } else if (!strcmp(act, "touch") && one) {
        report("touch", argv[*i + 1], utimensat(AT_FDCWD, argv[*i + 1], NULL, 0));
        *i += 1;
    } else if (!strcmp(act, "readlink") && one) {
        char buf[4097];
        ssize_t n = readlink(argv[*i + 1], buf, sizeof buf - 1);
        if (n < 0) {
            report("readlink", argv[*i + 1], -1);
        } else {
            buf[n] = 0;
            printf("readlink %s: %s\n", argv[*i + 1], buf);
        }
        *i += 1;
    } else if ((!strcmp(act, "stat") || !strcmp(act, "lstat")) && one) {
        int rc = act[0] == 's' ? stat(argv[*i + 1], &st) : lstat(argv[*i + 1], &st);
        if (rc != 0) {
            report(act, argv[*i + 1], -1);
        } else {
            printf("%s %s: %s %lld\n", act, argv[*i + 1], type_of(st.st_mode), (long long) st.st_size);
        }
        *i += 1;
    } else if (!strcmp(act, "ls") && one) {
        list(argv[*i + 1]);
        *i += 1;
    } else {
        return 0;
    }
    return 1;
}
