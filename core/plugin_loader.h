/*
 * plugin_loader.h — dlopen a CSG plugin and check its descriptor.
 *
 * The checks run in the order the ABI promises (csg/plugin.h): the file's
 * permissions, dlopen, the entry point, then the descriptor's magic, size,
 * ABI major/minor, kind and required functions. Every failure message names
 * the file and says exactly what differs, e.g.
 *   build/lib/csg/old.so: ABI mismatch: gateway ABI 2.1, plugin ABI 1.2
 * A failed load leaves nothing behind (dlclose).
 */
#ifndef CSG_PLUGIN_LOADER_H
#define CSG_PLUGIN_LOADER_H

#include <sys/stat.h>

#include "csg/plugin.h"

/* For csg_plugin_open: take whichever kind the file declares. */
#define CSG_PLUGIN_ANY_KIND 0

/* The part of each descriptor every ABI 2.x plugin has: up to the last
 * field of 2.0 that is not an optional tail (csg/plugin.h). */
#define CSG_TRANSPORT_BASELINE_SIZE sizeof(csg_transport_plugin)
#define CSG_ADAPTER_BASELINE_SIZE offsetof(csg_model_adapter, required_features)

typedef struct csg_plugin {
    char *path;       /* as configured (for messages) */
    void *handle;     /* dlopen handle */
    csg_plugin_kind kind;
    const csg_plugin_header *header; /* the plugin's own (its name, version) */
    /* The descriptor as this gateway reads it: a zero-padded copy, so a
     * smaller descriptor (older minor) reads its missing tail as absent. */
    const csg_transport_plugin *transport; /* kind == TRANSPORT: &transport_desc */
    const csg_model_adapter *adapter;      /* kind == MODEL_ADAPTER: &adapter_desc */
    const csg_option *options;             /* may be NULL */
    csg_transport_plugin transport_desc;
    csg_model_adapter adapter_desc;
} csg_plugin;

/* Load the plugin at path (relative paths against the current directory),
 * expecting kind (or CSG_PLUGIN_ANY_KIND). The gateway loads through its
 * registry (registry.h), which calls this once per distinct file. On success *out is a malloc'd csg_plugin the caller frees
 * with csg_plugin_unload. On failure returns -CSG_E… and err->message is
 * "<path>: <what went wrong>". */
int csg_plugin_load(const char *path, csg_plugin_kind expected, csg_plugin **out, csg_error *err);

/* The file checks of csg_plugin_load before any dlopen: resolve path into
 * real (PATH_MAX bytes), refuse a file or directory others may write, and
 * fill *st (if non-NULL) with the file's stat. 0 or -CSG_EPLUGIN with
 * err->message "<path>: …". */
int csg_plugin_resolve(const char *path, char *real, struct stat *st, csg_error *err);

/* The dlopen and descriptor checks of csg_plugin_load, on a file already
 * resolved: name is what dlopen gets (the real path, or /proc/self/fd/N for
 * a new version of a file loaded before under that name: registry.c);
 * messages name path. expected is a csg_plugin_kind or CSG_PLUGIN_ANY_KIND. */
int csg_plugin_open(const char *path, const char *name, int expected, csg_plugin **out,
                    csg_error *err);

/* dlclose and free; NULL is fine. */
void csg_plugin_unload(csg_plugin *p);

const char *csg_plugin_kind_name(uint32_t kind);

#endif /* CSG_PLUGIN_LOADER_H */
