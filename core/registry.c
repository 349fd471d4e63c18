/*
 * registry.c — one load per distinct plugin file (registry.h).
 */
#include "registry.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct entry {
    char *real;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    csg_plugin *plugin; /* NULL: the load failed, see error */
    char *error;        /* what followed "<path>: " in the failure */
    int fd;             /* >= 0: loaded through /proc/self/fd/fd, kept open */
    struct entry *next;
} entry;

struct csg_registry {
    _Atomic int refs;
    pthread_mutex_t mu;
    entry *entries;
    size_t loads;
};

csg_registry *csg_registry_new(void)
{
    csg_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

csg_registry *csg_registry_ref(csg_registry *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

void csg_registry_unref(csg_registry *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (entry *e = r->entries, *n; e; e = n) {
        n = e->next;
        csg_plugin_unload(e->plugin); /* dlclose before the descriptor it names goes */
        if (e->fd >= 0)
            close(e->fd);
        free(e->real);
        free(e->error);
        free(e);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

size_t csg_registry_loads(const csg_registry *r)
{
    return r->loads;
}

static bool same_file(const entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino;
}

static bool same_version(const entry *e, const struct stat *st)
{
    return same_file(e, st) && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* e's outcome for a caller asking path as kind. */
static int answer(const entry *e, const char *path, csg_plugin_kind kind, const csg_plugin **out,
                  csg_error *err)
{
    if (!e->plugin) {
        if (err)
            snprintf(err->message, sizeof err->message, "%s: %s", path, e->error);
        return -CSG_EPLUGIN;
    }
    if (e->plugin->kind != kind) {
        if (err)
            snprintf(err->message, sizeof err->message, "%s: wrong kind: expected %s, found %s \"%s\"",
                     path, csg_plugin_kind_name(kind), csg_plugin_kind_name(e->plugin->kind),
                     e->plugin->header->name ? e->plugin->header->name : "?");
        return -CSG_EPLUGIN;
    }
    *out = e->plugin;
    return 0;
}

static int get_locked(csg_registry *r, const char *path, csg_plugin_kind kind,
                      const csg_plugin **out, csg_error *err)
{
    char real[PATH_MAX];
    struct stat st;
    int rc = csg_plugin_resolve(path, real, &st, err);
    if (rc)
        return rc;
    bool loaded_before = false; /* a live object was mapped under this name */
    for (entry *e = r->entries; e; e = e->next) {
        if (strcmp(e->real, real) != 0)
            continue;
        if (same_version(e, &st))
            return answer(e, path, kind, out, err);
        if (e->plugin && same_file(e, &st)) {
            if (err)
                snprintf(err->message, sizeof err->message,
                         "%s: changed on disk in place (same inode) since this process loaded it: "
                         "the new version cannot be loaded beside the old one, and writing over a "
                         "loaded plugin alters the running copy; install plugins by replacing the "
                         "file (install(1), or copy it beside and mv it over), or restart",
                         path);
            return -CSG_EPLUGIN;
        }
        loaded_before = loaded_before || (e->plugin && e->fd < 0);
    }

    entry *e = calloc(1, sizeof *e);
    if (!e || !(e->real = strdup(real))) {
        free(e);
        if (err)
            snprintf(err->message, sizeof err->message, "%s: out of memory", path);
        return -CSG_ENOMEM;
    }
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    e->fd = -1;
    char name[64];
    const char *dl_name = real;
    if (loaded_before) {
        /* dlopen(real) would return the old object (matched by name): map
         * the new file through a descriptor that stays open as long as the
         * object, so no later load can reuse its name. */
        e->fd = open(real, O_RDONLY | O_CLOEXEC);
        struct stat fst;
        if (e->fd < 0 || fstat(e->fd, &fst) != 0 || fst.st_ino != st.st_ino) {
            if (e->fd >= 0)
                close(e->fd);
            free(e->real);
            free(e);
            if (err)
                snprintf(err->message, sizeof err->message,
                         "%s: cannot open: the file changed while it was being loaded", path);
            return -CSG_EPLUGIN;
        }
        snprintf(name, sizeof name, "/proc/self/fd/%d", e->fd);
        dl_name = name;
    }
    csg_error le = {{0}};
    r->loads++;
    rc = csg_plugin_open(path, dl_name, CSG_PLUGIN_ANY_KIND, &e->plugin, &le);
    if (rc != 0) {
        size_t skip = strlen(path) + 2; /* "<path>: " */
        const char *why = strncmp(le.message, path, skip - 2) == 0 && strlen(le.message) >= skip
                              ? le.message + skip
                              : le.message;
        e->plugin = NULL;
        e->error = strdup(why);
        if (e->fd >= 0) {
            close(e->fd);
            e->fd = -1;
        }
        if (!e->error) {
            free(e->real);
            free(e);
            if (err)
                *err = le;
            return rc;
        }
    }
    e->next = r->entries;
    r->entries = e;
    return answer(e, path, kind, out, err);
}

int csg_registry_get(csg_registry *r, const char *path, csg_plugin_kind kind,
                     const csg_plugin **out, csg_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&r->mu);
    int rc = get_locked(r, path, kind, out, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}
