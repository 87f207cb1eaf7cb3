/* Controls of a running container beyond its lifecycle: Pause, Resume (runc pause/resume) and Update (runc update). */
#include "procs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Pause (runc pause: the container's cgroup frozen) or Resume of a running container; not of an exec. */
void procs_pause(uint32_t stream, pb_reader *r, int pause)
{
    struct ref ref;
    char err[512];
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (*p->eid) {
        reply_err(stream, ST_INVALID, "%s applies to a container, not to exec %s", pause ? "pause" : "resume", p->eid);
        return;
    }
    if (p->exited) {
        reply_err(stream, ST_NOT_FOUND, "container %s has already exited", p->cid);
        return;
    }
    char *argv[] = { RUNC, "--root", "/run/runc", pause ? "pause" : "resume", p->cid, NULL };
    if (run_runc(argv, NULL, err, sizeof(err)) < 0) {
        reply_err(stream, ST_INTERNAL, "runc %s %s: %s", argv[3], p->cid, err);
        return;
    }
    reply_ok(stream, NULL);
}

/* Update: new cgroup limits of a running container, the OCI LinuxResources JSON handed to runc update. */
void procs_update(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    char err[512], file[200];
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (*p->eid || p->exited) {
        reply_err(stream, *p->eid ? ST_INVALID : ST_NOT_FOUND, "update needs a running container, not %s%s%s",
                  p->cid, *p->eid ? "/" : " (exited)", p->eid);
        return;
    }
    snprintf(file, sizeof(file), "/run/kuasar/exec/%s.resources.json", p->cid);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, ref.bytes3.data, ref.bytes3.len) != (ssize_t)ref.bytes3.len) {
        if (fd >= 0)
            close(fd);
        reply_err(stream, ST_INTERNAL, "cannot record the resources of %s: %s", p->cid, strerror(errno));
        return;
    }
    close(fd);
    char *argv[] = { RUNC, "--root", "/run/runc", "update", "--resources", file, p->cid, NULL };
    int failed = run_runc(argv, NULL, err, sizeof(err)) < 0;
    unlink(file);
    if (failed) {
        reply_err(stream, ST_INVALID, "runc update %s: %s", p->cid, err);
        return;
    }
    reply_ok(stream, NULL);
}
