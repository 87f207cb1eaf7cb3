/* What procs.c, output.c and control.c share: the process table, and running runc. */
#ifndef KUASAR_PROCS_H
#define KUASAR_PROCS_H
#include "agent.h"

struct output {
    int fd;                      /* read end, -1 once at EOF */
    uint8_t *data;
    size_t len;
    uint64_t base;               /* stream offset of data[0]: what the host acknowledged */
    uint32_t reader, reader_gen; /* a parked ReadOutput, 0 if none */
};

struct proc {
    int used, started, exited, status;
    int oom;                     /* init only: its container's cgroup OOM killer had ended a process when it exited */
    char cid[ID_MAX], eid[ID_MAX];
    pid_t pid;
    int want_out[2];
    struct output out[2];
    uint32_t waiters[MAX_WAITERS];
    int nwaiters;
    uint32_t waiters_gen;
    int terminal, want_in;       /* asked for at Create or Exec */
    int in_fd;                   /* where WriteStdin writes: the stdin pipe or a copy of the pty master, -1 if none */
    int in_child;                /* the pipe's read end until runc has handed it to the process */
    int pty, console;            /* the pty master (for ResizePty); the console socket until runc sent the master */
};

extern struct proc procs[MAX_PROCS];

/* The fields of the process requests: id=1, exec_id=2, then a varint or bytes 3, a varint or bool 4, bools 5-7. */
struct ref { char cid[ID_MAX], eid[ID_MAX]; uint64_t n3, n4; pb_field bytes3; int b4, b5, b6, b7; };
int parse_ref(uint32_t stream, pb_reader *r, struct ref *ref);
struct proc *lookup(uint32_t stream, const struct ref *ref);

#define RUNC "/bin/runc"
/* Runs runc with argv (p, when given, gets the output pipes); on failure runc's complaint is in err. */
int run_runc(char *const argv[], struct proc *p, char *err, size_t errcap);

/* stdio.c: stdin and terminals around runc create/exec of p */
int stdio_prepare(struct proc *p, char *console, size_t cap, char *err, size_t errcap); /* console: "" or a path */
/* argv with "--console-socket CONSOLE" put before argv[at] (the container id, last) when console is a path */
char **stdio_console_argv(char *argv[], int at, char *console);
int stdio_finish(struct proc *p, char *err, size_t errcap);  /* after runc succeeded: takes the pty master */
void stdio_abort(struct proc *p);                            /* after runc failed */
void stdio_drop(struct proc *p);                             /* closes everything of p's input and terminal */
#endif
