/*
 * The wasm driver's test module (WASI preview 1, built by scripts/images.d/wasm.sh with clang-16 --target=wasm32-wasi).
 * It prints its argv and environment, then runs the actions its arguments name, in order:
 *   read PATH          print "read PATH: CONTENT" (CONTENT up to 4 KiB)
 *   write PATH TEXT    write TEXT to PATH, print "wrote PATH"
 *   exit N             exit with status N
 *   loop               print "looping" and spin forever (no call, no I/O: only a kill can stop it)
 *   sleep SECONDS      sleep (WASI poll_oneoff)
 *   alloc MIB          allocate and touch MIB mebibytes, 1 MiB at a time; exit 12 if malloc fails
 *   compute N          N rounds of a integer mix over 64 KiB (CPU work for the benchmark), print the checksum
 * "quiet" as the first argument skips the argv/environment listing (the benchmark's hello run uses "quiet hello").
 *   hello              print "hello"
 *   isatty             print "isatty 0=N 1=N" (1: the stream is a terminal, as WASI's fd_fdstat tells it)
 *   trap               execute wasm's unreachable (a trap, as a failed assertion in a compiled language ends)
 *   recurse            recurse without end (exhausts the engine's call stack)
 * and the file-system actions of wasm-test-fs.c (symlink, link, mkdir, rename, unlink, readlink, stat, ls, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int fs_action(int argc, char **argv, int *i);

static int read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("read %s: failed\n", path);
        perror(path);
        return 1;
    }
    char buf[4097];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    printf("read %s: %s\n", path, buf);
    return 0;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        printf("write %s: failed\n", path);
        perror(path);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* Kept reachable and read back, so the compiler cannot drop the allocations as dead code. */
static char *volatile kept;

static void alloc_mib(long mib) {
    unsigned long sum = 0;
    for (long i = 1; i <= mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            printf("alloc failed at %ld MiB\n", i);
            fflush(stdout);
            exit(12);
        }
        memset(p, (int) i, 1 << 20); /* touch every page so a process engine's RSS really grows */
        kept = p;
        sum += (unsigned char) kept[i];
        if (i % 16 == 0) {
            printf("allocated %ld MiB\n", i);
            fflush(stdout);
        }
    }
    printf("allocated all %ld MiB (check %lu)\n", mib, sum);
}

/* Not inlinable into a loop: every call is a real wasm call that grows the stack. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static long recurse(long depth) {
    volatile long keep = depth;
    return recurse(depth + 1) + keep;
}
#pragma clang diagnostic pop

static void compute(long rounds) {
    static unsigned int data[16384];
    unsigned int x = 2463534242u, sum = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 16384; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            data[i] = data[i] * 31u + x;
            sum += data[i] >> 3;
        }
    }
    printf("compute %ld rounds: checksum %u\n", rounds, sum);
}

int main(int argc, char **argv) {
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "quiet") == 0) {
        i = 2;
    } else {
        for (int a = 0; a < argc; a++) {
            printf("arg[%d]=%s\n", a, argv[a]);
        }
        for (char **e = environ; *e; e++) {
            printf("env %s\n", *e);
        }
    }
    fflush(stdout);
    for (; i < argc; i++) {
        const char *act = argv[i];
        if (strcmp(act, "trap") == 0) {
            fflush(stdout);
            __builtin_trap();
        } else if (strcmp(act, "recurse") == 0) {
            fflush(stdout);
            printf("%ld\n", recurse(0));
        } else if (strcmp(act, "hello") == 0) {
            printf("hello\n");
        } else if (strcmp(act, "isatty") == 0) {
            printf("isatty 0=%d 1=%d\n", isatty(0), isatty(1));
        } else if (strcmp(act, "read") == 0 && i + 1 < argc) {
            read_file(argv[++i]);
        } else if (strcmp(act, "write") == 0 && i + 2 < argc) {
            write_file(argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (strcmp(act, "exit") == 0 && i + 1 < argc) {
            fflush(stdout);
            return atoi(argv[i + 1]);
        } else if (strcmp(act, "loop") == 0) {
            printf("looping\n");
            fflush(stdout);
            volatile unsigned long spin = 0;
            for (;;) {
                spin++;
            }
        } else if (strcmp(act, "sleep") == 0 && i + 1 < argc) {
            printf("sleeping %s s\n", argv[i + 1]);
            fflush(stdout);
            sleep((unsigned) atoi(argv[++i]));
        } else if (strcmp(act, "alloc") == 0 && i + 1 < argc) {
            alloc_mib(atol(argv[++i]));
        } else if (strcmp(act, "compute") == 0 && i + 1 < argc) {
            compute(atol(argv[++i]));
        } else if (fs_action(argc, argv, &i)) {
            /* done */
        } else {
            fprintf(stderr, "unknown action %s\n", act);
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
