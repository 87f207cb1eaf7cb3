/*
 * The keeper's control socket (DIR/control.sock), the JVM's way to tell it what to relay: one command per line
 * (PING, LISTEN PUBLIC BACKEND, CLOSE PUBLIC, LIST), one reply line each (LIST: its L lines, then END).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "keeper.h"

#define MAX_CONTROL_LINE 8192

struct control_client {
    struct ev ev;
    struct buf in, out;
    struct control_client *prev, *next; /* all open clients, so the keeper can close them when it stops */
};
static struct control_client *control_clients;

/* Returns the reply's last line; LIST's L lines go to out first. */
static const char *control_reply(char **arg, int argc, struct buf *out, char *err, size_t errlen) {
    if (argc == 1 && strcmp(arg[0], "PING") == 0) return "PONG";
    if (argc == 3 && strcmp(arg[0], "LISTEN") == 0) return relay_listen(arg[1], arg[2], err, errlen) == 0 ? "OK" : NULL;
    if (argc == 2 && strcmp(arg[0], "CLOSE") == 0) {
        relay_close(arg[1]);
        return "OK";
    }
    if (argc == 1 && strcmp(arg[0], "LIST") == 0) {
        relay_list(out);
        return "END";
    }
    snprintf(err, errlen, "unknown command or wrong number of arguments");
    return NULL;
}

static void control_command(struct buf *out, char *line) {
    char *arg[4], *save = NULL, err[PATH_MAX + 128] = "ERR ";
    int argc = 0;
    for (char *t = strtok_r(line, " \t", &save); t && argc < 4; t = strtok_r(NULL, " \t", &save)) arg[argc++] = t;
    const char *reply = control_reply(arg, argc, out, err + 4, sizeof err - 4);
    if (!reply) reply = err; /* "ERR <message>" */
    buf_append(out, reply, strlen(reply));
    buf_append(out, "\n", 1);
}

/* The next complete line in b, NUL-terminated, and how many bytes it takes (used); NULL when none. */
static char *next_line(struct buf *b, size_t *used) {
    char *line = buf_pending(b) ? b->data + b->off : NULL;
    char *nl = line ? memchr(line, '\n', buf_pending(b)) : NULL;
    if (!nl) return NULL;
    *nl = 0;
    if (nl > line && nl[-1] == '\r') nl[-1] = 0;
    *used = (size_t)(nl - line) + 1;
    return line;
}

/* Returns -1, for the callers' convenience. */
static int control_client_close(struct control_client *c) {
    if (c->prev) c->prev->next = c->next;
    else control_clients = c->next;
    if (c->next) c->next->prev = c->prev;
    close(c->ev.fd);
    c->ev.fd = -1;
    buf_free(&c->in);
    buf_free(&c->out);
    defer_free(c);
    return -1;
}

int control_client_event(struct control_client *c, uint32_t events) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        long n = buf_read(&c->in, c->ev.fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return control_client_close(c);
        char *line;
        size_t used;
        while ((line = next_line(&c->in, &used))) {
            control_command(&c->out, line);
            buf_consume(&c->in, used);
        }
        if (buf_pending(&c->in) > MAX_CONTROL_LINE) {
            klog("control client sent an overlong line: closing it");
            return control_client_close(c);
        }
    }
    if (buf_flush(&c->out, c->ev.fd) < 0) return control_client_close(c);
    ev_ctl(EPOLL_CTL_MOD, &c->ev, buf_pending(&c->out) ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return 0;
}

void control_accept(int listen_fd) {
    int fd;
    while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct control_client *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->ev = (struct ev){EV_CONTROL_CLIENT, fd, c};
        if ((c->next = control_clients)) control_clients->prev = c;
        control_clients = c;
        ev_ctl(EPOLL_CTL_ADD, &c->ev, EPOLLIN);
    }
}

void control_close_all(void) {
    while (control_clients) control_client_close(control_clients);
}
