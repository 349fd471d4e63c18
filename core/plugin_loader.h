/*
 * plugin_loader.h — dlopen a CSG plugin and check its descriptor.
 *
 * The checks run in the order the ABI promises (csg/plugin.h): the file's
 * permissions, dlopen, the entry point, then the descriptor's magic, size,
 * ABI major/minor, kind and required functions. Every failure message names
 * the file and says exactly what differs, e.g.
 *   build/lib/csg/old.so: ABI mismatch: gateway ABI 1.0, plugin ABI 2.0
 * A failed load leaves nothing behind (dlclose).
 */
#ifndef CSG_PLUGIN_LOADER_H
#define CSG_PLUGIN_LOADER_H

#include "csg/plugin.h"

typedef struct csg_plugin {
    char *path;       /* as configured (for messages) */
    void *handle;     /* dlopen handle */
    csg_plugin_kind kind;
    const csg_plugin_header *header;
    const csg_transport_plugin *transport; /* kind == TRANSPORT */
    const csg_model_adapter *adapter;      /* kind == MODEL_ADAPTER */
    const csg_option *options;             /* may be NULL */
} csg_plugin;

/* Load the plugin at path (relative paths against the current directory),
 * expecting kind. On success *out is a malloc'd csg_plugin the caller frees
 * with csg_plugin_unload. On failure returns -CSG_E… and err->message is
 * "<path>: <what went wrong>". */
int csg_plugin_load(const char *path, csg_plugin_kind expected, csg_plugin **out, csg_error *err);

/* dlclose and free; NULL is fine. */
void csg_plugin_unload(csg_plugin *p);

const char *csg_plugin_kind_name(uint32_t kind);

#endif /* CSG_PLUGIN_LOADER_H */
