/*
 * plugin_loader.c — loading and checking plugin shared objects (one file,
 * one load; registry.c decides when a file is loaded).
 */
#include "plugin_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every load error names the file first, then what is wrong with it. */
#define fail(err, path, ...) csg_fail_at((err), CSG_EPLUGIN, (path), __VA_ARGS__)

const char *csg_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case CSG_PLUGIN_TRANSPORT:
        return "a transport plugin";
    case CSG_PLUGIN_MODEL_ADAPTER:
        return "a model adapter";
    default:
        return "an unknown kind";
    }
}

/* Code that anyone else may rewrite runs inside the gateway: refuse it. */
static int check_permissions(const char *path, const char *real, csg_error *err)
{
    struct stat st;
    if (stat(real, &st) != 0)
        return fail(err, path, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(err, path, "cannot open: not a regular file");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(err, path,
                    "refusing to load: the file is group/world-writable (mode %04o); "
                    "chmod go-w it",
                    (unsigned)(st.st_mode & 07777));
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    const char *d = dirname(dir);
    if (stat(d, &st) != 0)
        return fail(err, path, "cannot open: %s: %s", d, strerror(errno));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(err, path,
                    "refusing to load: its directory %s is group/world-writable (mode %04o); "
                    "chmod go-w it",
                    d, (unsigned)(st.st_mode & 07777));
    return 0;
}

int csg_plugin_resolve(const char *path, char *real, struct stat *st, csg_error *err)
{
    if (!realpath(path, real)) {
        if (errno == ENOENT)
            return fail(err, path, "cannot open: no such file");
        return fail(err, path, "cannot open: %s", strerror(errno));
    }
    int rc = check_permissions(path, real, err);
    if (rc)
        return rc;
    if (st && stat(real, st) != 0)
        return fail(err, path, "cannot open: %s", strerror(errno));
    return 0;
}

int csg_plugin_load(const char *path, csg_plugin_kind expected, csg_plugin **out, csg_error *err)
{
    *out = NULL;
    char real[PATH_MAX];
    int rc = csg_plugin_resolve(path, real, NULL, err);
    if (rc)
        return rc;
    return csg_plugin_open(path, real, (int)expected, out, err);
}

int csg_plugin_open(const char *path, const char *name, int expected, csg_plugin **out,
                    csg_error *err)
{
    *out = NULL;
    dlerror();
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return fail(err, path, "cannot open: %s", e ? e : "dlopen failed");
    }
    dlerror();
    void *sym = dlsym(h, CSG_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        const char *e = dlerror();
        fail(err, path, "no entry point: the plugin does not export %s() (%s)",
             CSG_PLUGIN_ENTRY_SYMBOL, e ? e : "symbol is NULL");
        goto fail;
    }
    csg_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object → function pointer, as POSIX allows */
    const csg_plugin_header *hd = entry();
    if (!hd) {
        fail(err, path, "init failed: %s() returned NULL", CSG_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    if (hd->magic != CSG_PLUGIN_MAGIC) {
        fail(err, path, "bad magic: 0x%08x, expected 0x%08x (\"CSG1\"); not a CSG plugin", hd->magic,
             CSG_PLUGIN_MAGIC);
        goto fail;
    }
    if (hd->struct_size < sizeof(csg_plugin_header)) {
        fail(err, path, "descriptor size %u is smaller than the plugin header (%zu bytes)",
             hd->struct_size, sizeof(csg_plugin_header));
        goto fail;
    }
    if (hd->abi_major != CSG_ABI_MAJOR || hd->abi_minor > CSG_ABI_MINOR) {
        fail(err, path, "ABI mismatch: gateway ABI %d.%d, plugin ABI %u.%u%s", CSG_ABI_MAJOR,
             CSG_ABI_MINOR, hd->abi_major, hd->abi_minor,
             hd->abi_major == CSG_ABI_MAJOR ? " (plugin is newer; rebuild it or upgrade the gateway)"
                                             : "; rebuild the plugin against this gateway's csg/plugin.h");
        goto fail;
    }
    if (expected == CSG_PLUGIN_ANY_KIND && hd->kind != CSG_PLUGIN_TRANSPORT &&
        hd->kind != CSG_PLUGIN_MODEL_ADAPTER) {
        fail(err, path, "wrong kind: expected a transport plugin or a model adapter, found %s",
             csg_plugin_kind_name(hd->kind));
        goto fail;
    }
    if (expected != CSG_PLUGIN_ANY_KIND && hd->kind != (uint32_t)expected) {
        fail(err, path, "wrong kind: expected %s, found %s \"%s\"",
             csg_plugin_kind_name((uint32_t)expected), csg_plugin_kind_name(hd->kind),
             hd->name ? hd->name : "?");
        goto fail;
    }
    csg_plugin_kind kind = (csg_plugin_kind)hd->kind;
    /* The ABI 2.0 baseline must be there; an optional tail (fields after
     * it, from a later minor) may be cut off by a plugin built before it. */
    size_t need = kind == CSG_PLUGIN_TRANSPORT ? CSG_TRANSPORT_BASELINE_SIZE
                                                    : CSG_ADAPTER_BASELINE_SIZE;
    if (hd->struct_size < need) {
        fail(err, path, "descriptor size %u is smaller than ABI %d.0 requires (%zu bytes)",
             hd->struct_size, CSG_ABI_MAJOR, need);
        goto fail;
    }

    csg_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        fail(err, path, "out of memory");
        goto fail;
    }
    p->header = hd;
    p->kind = kind;
    /* Work on a zeroed copy of the gateway's size: what the plugin's
     * descriptor does not have reads as NULL/0, never past its end. */
    if (kind == CSG_PLUGIN_TRANSPORT) {
        memcpy(&p->transport_desc, hd,
               hd->struct_size < sizeof p->transport_desc ? hd->struct_size
                                                          : sizeof p->transport_desc);
        p->transport = &p->transport_desc;
        p->options = p->transport->options;
        if (!p->transport->create || !p->transport->start_worker || !p->transport->destroy ||
            !p->transport->drain_worker) {
            free(p);
            fail(err, path, "invalid descriptor: create, start_worker, drain_worker and destroy "
                            "are required");
            goto fail;
        }
    } else {
        memcpy(&p->adapter_desc, hd,
               hd->struct_size < sizeof p->adapter_desc ? hd->struct_size
                                                        : sizeof p->adapter_desc);
        p->adapter = &p->adapter_desc;
        p->options = p->adapter->options;
        if (!p->adapter->create || !p->adapter->score_async || !p->adapter->destroy) {
            free(p);
            fail(err, path, "invalid descriptor: create, score_async and destroy are required");
            goto fail;
        }
    }
    p->path = strdup(path);
    p->handle = h;
    if (!p->path) {
        free(p);
        fail(err, path, "out of memory");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    dlclose(h);
    return -CSG_EPLUGIN;
}

void csg_plugin_unload(csg_plugin *p)
{
    if (!p)
        return;
    if (p->handle)
        dlclose(p->handle);
    free(p->path);
    free(p);
}
