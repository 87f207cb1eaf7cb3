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
    char cid[ID_MAX], eid[ID_MAX];
    pid_t pid;
    int want_out[2];
    struct output out[2];
    uint32_t waiters[MAX_WAITERS];
    int nwaiters;
    uint32_t waiters_gen;
};

extern struct proc procs[MAX_PROCS];

/* The fields of the process requests: id=1, exec_id=2, then a varint or bytes 3, a varint or bool 4, a bool 5. */
struct ref { char cid[ID_MAX], eid[ID_MAX]; uint64_t n3, n4; pb_field bytes3; int b4, b5; };
int parse_ref(uint32_t stream, pb_reader *r, struct ref *ref);
struct proc *lookup(uint32_t stream, const struct ref *ref);

#define RUNC "/bin/runc"
/* Runs runc with argv (p, when given, gets the output pipes); on failure runc's complaint is in err. */
int run_runc(char *const argv[], struct proc *p, char *err, size_t errcap);
#endif
