/*
 * registry.h — the plugins a gateway process has loaded: each distinct
 * plugin file is dlopened once (plugin_loader.h) and its descriptor shared
 * by every configuration that names it.
 *
 * A file is identified by its real path and its device, inode, size and
 * modification time. A configuration naming a file already loaded gets the
 * same csg_plugin (a SIGHUP, --check-config naming rest.so twice); a file
 * that failed to load keeps its message and is not opened again until it
 * changes. A file replaced on disk by a new one under the same path (a new
 * inode: `install`, `mv`, a linker's output) is loaded afresh, through
 * /proc/self/fd, because the dynamic linker would otherwise hand back the
 * object it already mapped under that name; the old version stays loaded
 * for the snapshots still using it. A file rewritten in place while loaded
 * (same inode: `cp` over it) cannot be loaded again in this process — the
 * dynamic linker matches it by inode, and the write changes the mapped copy
 * under the running code — so that is an error that says so.
 *
 * Every loaded file stays loaded until the registry is freed: the
 * configurations hold references to the registry (csg_config.registry),
 * so it goes when the last of them and the gateway let it go.
 * Thread-safe (a mutex); used on the main thread (config loads).
 */
#ifndef CSG_REGISTRY_H
#define CSG_REGISTRY_H

#include <stddef.h>

#include "plugin_loader.h"

typedef struct csg_registry csg_registry;

/* A new, empty registry (refs = 1); NULL without memory. */
csg_registry *csg_registry_new(void);
csg_registry *csg_registry_ref(csg_registry *r);
/* The last reference dlcloses every plugin; NULL is fine. */
void csg_registry_unref(csg_registry *r);

/* The plugin at path (relative to the current directory), of kind
 * (CSG_PLUGIN_TRANSPORT or CSG_PLUGIN_MODEL_ADAPTER). 0 and *out (owned by
 * the registry, valid while it lives); or -CSG_E… and err->message
 * "<path>: <what went wrong>" as csg_plugin_load says it. */
int csg_registry_get(csg_registry *r, const char *path, csg_plugin_kind kind,
                     const csg_plugin **out, csg_error *err);

/* How many times this registry called dlopen (tests). */
size_t csg_registry_loads(const csg_registry *r);

#endif /* CSG_REGISTRY_H */
