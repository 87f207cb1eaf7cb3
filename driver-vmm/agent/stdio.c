/*
 * A process's input and terminal: a stdin pipe, or a pty that runc makes and sends to a console socket
 * (runc create/exec --console-socket), whose master then carries the process's output (stream 1), takes its input
 * (WriteStdin) and is sized by ResizePty. runc is run to completion before the socket is read: the master waits
 * in the socket's queue, sent before runc returned.
 */
#include "procs.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define EOT 4 /* the terminal's end-of-file character (^D) */
#define CONSOLE_WAIT_MS 2000

static void socket_path(const struct proc *p, char *path, size_t cap)
{
    snprintf(path, cap, "/run/kuasar/console-%d.sock", (int)(p - procs)); /* ids would not fit in sun_path */
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int stdio_prepare(struct proc *p, char *console, size_t cap, char *err, size_t errcap)
{
    *console = 0;
    if (p->terminal) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        socket_path(p, a.sun_path, sizeof(a.sun_path));
        unlink(a.sun_path);
        p->console = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (p->console < 0 || bind(p->console, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(p->console, 1) < 0) {
            snprintf(err, errcap, "console socket %s: %s", a.sun_path, strerror(errno));
            stdio_abort(p);
            return -1;
        }
        snprintf(console, cap, "%s", a.sun_path);
    } else if (p->want_in) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0) {
            snprintf(err, errcap, "stdin pipe: %s", strerror(errno));
            return -1;
        }
        p->in_child = in[0];
        p->in_fd = in[1];
        fcntl(p->in_fd, F_SETFL, O_NONBLOCK); /* WriteStdin takes what fits, never blocks the loop */
    }
    return 0;
}

char **stdio_console_argv(char *argv[], int at, char *console)
{
    if (*console) {
        argv[at + 2] = argv[at];
        argv[at] = "--console-socket";
        argv[at + 1] = console;
    }
    return argv;
}

/* The fd runc sent over the accepted connection c (SCM_RIGHTS), or -1. */
static int receive_fd(int c)
{
    char byte, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
    struct pollfd pfd = { .fd = c, .events = POLLIN };
    if (poll(&pfd, 1, CONSOLE_WAIT_MS) <= 0 || recvmsg(c, &m, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof(fd));
    return fd;
}

int stdio_finish(struct proc *p, char *err, size_t errcap)
{
    close_fd(&p->in_child); /* the process has its copy */
    if (!p->terminal)
        return 0;
    int c = accept4(p->console, NULL, NULL, SOCK_CLOEXEC);
    int master = c >= 0 ? receive_fd(c) : -1;
    if (c >= 0)
        close(c);
    stdio_abort(p);
    if (master < 0) {
        snprintf(err, errcap, "runc sent no terminal to the console socket");
        return -1;
    }
    fcntl(master, F_SETFL, O_NONBLOCK);
    p->out[0].fd = master;
    p->out[1].fd = -1;
    p->pty = fcntl(master, F_DUPFD_CLOEXEC, 0);
    p->in_fd = p->want_in ? fcntl(master, F_DUPFD_CLOEXEC, 0) : -1;
    return 0;
}

void stdio_abort(struct proc *p)
{
    char path[108];
    close_fd(&p->in_child);
    if (p->console >= 0) {
        socket_path(p, path, sizeof(path));
        unlink(path);
    }
    close_fd(&p->console);
}

void stdio_drop(struct proc *p)
{
    stdio_abort(p);
    close_fd(&p->in_fd);
    close_fd(&p->pty);
}

void procs_write_stdin(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->in_fd < 0) {
        reply_err(stream, ST_PRECONDITION, "process %s/%s has no stdin open", p->cid, p->eid);
        return;
    }
    ssize_t n = ref.bytes3.len ? write(p->in_fd, ref.bytes3.data, ref.bytes3.len) : 0;
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        reply_err(stream, ST_NOT_FOUND, "stdin of %s/%s is gone: %s", p->cid, p->eid, strerror(errno));
        return;
    }
    pb_buf b = {0};
    pb_put_u64(&b, 1, n > 0 ? (uint64_t)n : 0);
    reply_ok(stream, &b);
    pb_free(&b);
}

void procs_close_stdin(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->terminal && p->in_fd >= 0) {
        char eot = EOT; /* closing a copy of the master ends nothing: the reader of the tty gets end-of-file */
        if (write(p->in_fd, &eot, 1) < 0)
            logmsg("end-of-file to the terminal of %s/%s: %s", p->cid, p->eid, strerror(errno));
    }
    close_fd(&p->in_fd);
    reply_ok(stream, NULL);
}

void procs_resize_pty(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->pty < 0) {
        reply_err(stream, ST_PRECONDITION, "process %s/%s has no terminal", p->cid, p->eid);
        return;
    }
    if (ref.n3 > 0xffff || ref.n4 > 0xffff) {
        reply_err(stream, ST_INVALID, "terminal size %llux%llu is out of range", (unsigned long long)ref.n3,
                  (unsigned long long)ref.n4);
        return;
    }
    struct winsize ws = { .ws_row = (unsigned short)ref.n4, .ws_col = (unsigned short)ref.n3 };
    if (ioctl(p->pty, TIOCSWINSZ, &ws) < 0) {
        reply_err(stream, ST_INTERNAL, "resizing the terminal of %s/%s: %s", p->cid, p->eid, strerror(errno));
        return;
    }
    reply_ok(stream, NULL);
}
