/*
 * fdlimit.c — see fdlimit.h.
 */
#include "fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* The most a process may set RLIMIT_NOFILE to (fs.nr_open), or the kernel's
 * default when it cannot be read. */
static uint64_t nr_open(void)
{
    unsigned long long n = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f) {
        if (fscanf(f, "%llu", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n ? (uint64_t)n : 1048576u;
}

int csg_fdlimit_raise(csg_fdlimit *out, csg_error *err)
{
    struct rlimit rl;
    memset(out, 0, sizeof *out);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "cannot read the open-file limit (RLIMIT_NOFILE): %s", strerror(errno));
        return -CSG_EIO;
    }
    out->before = out->soft = (uint64_t)rl.rlim_cur;
    out->hard = (uint64_t)rl.rlim_max;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY) /* the kernel refuses more than fs.nr_open */
        want = (rlim_t)nr_open();
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
        return 0;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "cannot raise the open-file limit (RLIMIT_NOFILE) from %llu to %llu: %s",
                     (unsigned long long)out->before, (unsigned long long)want,
                     strerror(errno));
        return -CSG_EIO;
    }
    out->soft = (uint64_t)want;
    return 0;
}

bool csg_fdlimit_short(const csg_fdlimit *lim, size_t n_transports, uint64_t max_connections,
                       char *msg, size_t cap)
{
    uint64_t need = (uint64_t)n_transports * max_connections + CSG_FD_RESERVE;
    if (lim->soft >= need)
        return false;
    snprintf(msg, cap,
             "the open-file limit (RLIMIT_NOFILE) is %llu, but limits.max_connections is %llu "
             "per transport: %zu transport(s) may need about %llu descriptors (%d of them the "
             "gateway's own). Starting anyway; when descriptors run out the transports pause "
             "accepting until connections close. Raise the hard limit (ulimit -Hn, systemd "
             "LimitNOFILE=) or lower limits.max_connections",
             (unsigned long long)lim->soft, (unsigned long long)max_connections, n_transports,
             (unsigned long long)need, CSG_FD_RESERVE);
    return true;
}
