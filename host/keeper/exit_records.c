/*
 * kuasar-keeper: pruning of old exit records. A record is read by the driver that asks for that process; one that
 * no driver asks for (a helper process stopped after a restart, a container deleted before anybody looked) would
 * stay for ever. Records older than the keeper's --exit-record-ttl-hours (default a week: a node down longer than
 * that has lost its pods' exit codes anyway) are deleted at start-up and at most once an hour after that.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"

#define PRUNE_EVERY_MS (3600 * 1000LL)

static int64_t last_prune_ms = -1;

int exit_records_prune(const char *exits_dir, long ttl_hours) {
    int64_t now = now_ms();
    if (last_prune_ms >= 0 && now - last_prune_ms < PRUNE_EVERY_MS) return 0;
    last_prune_ms = now;
    DIR *d = opendir(exits_dir);
    if (!d) return -1;
    time_t oldest = time(NULL) - (time_t)ttl_hours * 3600;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.') continue; /* also atomic_write's temporary files, which are dot-files */
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
        if (st.st_mtime >= oldest) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) removed++;
        else klog("cannot remove the old exit record %s: %s", e->d_name, strerror(errno));
    }
    closedir(d);
    if (removed) klog("removed %d exit record(s) older than %ld hours", removed, ttl_hours);
    return removed;
}
