/*
 * promote_cmd.c — the promote / rollback commands (promote.h): read the
 * config, make the new text (promote: the rewrite; rollback: the copy the
 * last promote saved as FILE.prev), check it as a start would (plugins
 * loaded, adapters created once), replace FILE atomically (a temporary file
 * beside it, then rename, keeping its mode; a symlink is followed), then
 * SIGHUP the gateway named by the pid file and wait, bounded, until it
 * confirms by taking the note left for it (audit.h), so its audit record says
 * promote or rollback and who asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "csg_clock.h"
#include "gateway.h"
#include "jsonw.h"
#include "promote.h"
#include "registry.h"

#define DEFAULT_PID_FILE "var/run/gateway.pid"
#define CONFIRM_MS 15000
#define MAX_CONFIG_BYTES (16u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: csg-gateway promote --config FILE --challenger NAME [--pid-file F]\n"
            "       csg-gateway rollback --config FILE [--pid-file F]\n"
            "\n"
            "promote: rewrite FILE so challenger NAME becomes the champion and the\n"
            "champion a shadow challenger at NAME's weight (the previous file is kept as\n"
            "FILE.prev); rollback: put FILE.prev back. Both check the new file as a start\n"
            "would, replace FILE atomically and reload the running gateway (SIGHUP to the\n"
            "pid in F, default " DEFAULT_PID_FILE "), waiting until it confirms. Only the\n"
            "champion block and the promoted challenger's entry are rewritten: comments\n"
            "elsewhere stay, comments inside those two blocks are dropped.\n");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_CONFIG_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf || n > MAX_CONFIG_BYTES) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Write text to path via path.tmp-PID + rename (mode taken from like, if it exists). */
static int write_atomic(const char *path, const char *text, size_t len, const char *like)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    struct stat st;
    mode_t mode = like && stat(like, &st) == 0 ? st.st_mode & 07777 : 0644;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

/* Check text as a start of the gateway would; print the errors. */
static int check(const char *real, const char *text, size_t len, char version[17])
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.check-%d", real, (int)getpid());
    if (write_atomic(tmp, text, len, real) != 0) {
        fprintf(stderr, "csg-gateway: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    csg_errlist errs = {0};
    csg_config *cfg = NULL;
    csg_registry *reg = csg_registry_new();
    int rc = reg ? csg_config_load(tmp, reg, &cfg, &errs) : -1;
    csg_registry_unref(reg);
    if (rc == 0)
        rc = csg_gateway_check(cfg, &errs);
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "%s\n", errs.items[i]);
    if (rc == 0)
        memcpy(version, cfg->version, 17);
    else
        fprintf(stderr, "csg-gateway: the new configuration is invalid; %s is unchanged\n", real);
    csg_errlist_free(&errs);
    csg_config_unref(cfg);
    unlink(tmp);
    return rc == 0 ? 0 : -1;
}

static void whoami(char *buf, size_t cap)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    const struct passwd *pw = getpwuid(getuid());
    snprintf(buf, cap, "%s@%s", pw ? pw->pw_name : "?", host);
}

/* SIGHUP the gateway in pid_file with a note for it; wait until it takes it. */
static int reload(const char *real, const char *pid_file, const char *action, const char *summary)
{
    FILE *f = fopen(pid_file, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 0 || kill((pid_t)pid, 0) != 0) {
        if (f)
            fclose(f);
        printf("no running gateway (pid file %s): the new configuration applies at its next "
               "start\n",
               pid_file);
        return 0;
    }
    fclose(f);
    char note[PATH_MAX + 16], by[300], json[2048];
    snprintf(note, sizeof note, "%s%s", real, CSG_AUDIT_NOTE_SUFFIX);
    whoami(by, sizeof by);
    csg_jsonw w = {json, sizeof json, 0};
    csg_jsonw_printf(&w, "{\"pid\":%ld,\"action\":", pid);
    csg_jsonw_str(&w, action);
    csg_jsonw_lit(&w, ",\"applied_by\":");
    csg_jsonw_str(&w, by);
    csg_jsonw_lit(&w, ",\"summary\":");
    csg_jsonw_str(&w, summary);
    csg_jsonw_lit(&w, "}\n");
    size_t n = csg_jsonw_finish(&w);
    if (n >= sizeof json || write_atomic(note, json, n, NULL) != 0) {
        fprintf(stderr, "csg-gateway: cannot write %s: %s\n", note, strerror(errno));
        return 1;
    }
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "csg-gateway: cannot signal pid %ld: %s\n", pid, strerror(errno));
        unlink(note);
        return 1;
    }
    /* Bounded poll for the gateway's confirmation (it removes the note). */
    double deadline = csg_now_ms() + CONFIRM_MS;
    while (access(note, F_OK) == 0 && csg_now_ms() < deadline)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    if (access(note, F_OK) == 0) {
        unlink(note);
        fprintf(stderr,
                "csg-gateway: the gateway (pid %ld) did not confirm the reload within %d s; "
                "see its log (a rejected reload keeps the old configuration serving)\n",
                pid, CONFIRM_MS / 1000);
        return 1;
    }
    printf("gateway (pid %ld) reloaded\n", pid);
    return 0;
}

int csg_promote_main(int argc, char **argv)
{
    bool promote = !strcmp(argv[0], "promote");
    const char *config = NULL, *challenger = NULL, *pid_file = DEFAULT_PID_FILE;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"challenger", required_argument, NULL, 'n'},
        {"pid-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:n:p:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'n': challenger = optarg; break;
        case 'p': pid_file = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || (promote && !challenger) || (!promote && challenger) || optind < argc) {
        usage(stderr);
        return 2;
    }
    char real[PATH_MAX], prev[PATH_MAX + 8];
    if (!realpath(config, real)) {
        fprintf(stderr, "csg-gateway: %s: %s\n", config, strerror(errno));
        return 1;
    }
    snprintf(prev, sizeof prev, "%s.prev", real);
    size_t len = 0, plen = 0;
    char *cur = read_all(real, &len), *next = NULL, err[512] = "", summary[400];
    if (!cur) {
        fprintf(stderr, "csg-gateway: %s: %s\n", real, strerror(errno));
        return 1;
    }
    if (promote) {
        if (csg_promote_rewrite(real, cur, len, challenger, &next, err, sizeof err) != 0) {
            fprintf(stderr, "csg-gateway: %s\n", err);
            free(cur);
            return 1;
        }
        plen = strlen(next);
        snprintf(summary, sizeof summary, "promote %s to champion", challenger);
    } else {
        next = read_all(prev, &plen);
        if (!next) {
            fprintf(stderr, "csg-gateway: nothing to roll back to: %s: %s\n", prev,
                    strerror(errno));
            free(cur);
            return 1;
        }
        snprintf(summary, sizeof summary, "rollback to the configuration before the last promote");
    }
    char version[17] = "";
    int rc = 1;
    if (check(real, next, plen, version) != 0)
        goto out;
    if (promote && write_atomic(prev, cur, len, real) != 0) {
        fprintf(stderr, "csg-gateway: cannot save %s: %s\n", prev, strerror(errno));
        goto out;
    }
    if (write_atomic(real, next, plen, real) != 0) {
        fprintf(stderr, "csg-gateway: cannot replace %s: %s\n", real, strerror(errno));
        goto out;
    }
    if (!promote)
        unlink(prev);
    printf("%s: %s (config_version %s)\n", real, summary, version);
    rc = reload(real, pid_file, promote ? "promote" : "rollback", summary);
out:
    free(cur);
    free(next);
    return rc;
}
