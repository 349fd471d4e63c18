/*
 * lockfile.c — see lockfile.h.
 */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int csg_lockfile_claim(const char *lock_dir, const char *listen, csg_error *err)
{
    const char *colon = strrchr(listen, ':');
    const char *port = colon ? colon + 1 : listen;
    char path[300];
    snprintf(path, sizeof path, "%.200s/csg-gateway-port-%.8s.lock", lock_dir, port);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "%.64s: cannot create the lock file %.300s: %.100s",
                     listen, path, strerror(errno));
        return -CSG_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        if (n > 0) {
            pid[n] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
        }
        if (err) {
            if (e == EWOULDBLOCK)
                snprintf(err->message, sizeof err->message,
                         "%.64s: another csg-gateway (pid %s) already listens on port %.8s "
                         "(lock file %.300s); stop it or choose another port",
                         listen, n > 0 ? pid : "?", port, path);
            else
                snprintf(err->message, sizeof err->message, "%.64s: cannot lock %.300s: %.100s", listen,
                         path, strerror(e));
        }
        close(fd);
        return -CSG_EIO;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) {
        /* the pid is informational only */
    }
    return fd;
}

void csg_lockfile_release(int fd)
{
    if (fd >= 0)
        close(fd); /* closing drops the flock; the file stays for the next owner */
}
