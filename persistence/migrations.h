/* migrations.h — the SQL migrations compiled into csg-persist (generated migrations.c). */
#ifndef CSGP_MIGRATIONS_H
#define CSGP_MIGRATIONS_H

#include <stddef.h>

typedef struct csgp_migration {
    int version;      /* NNN of sql/<backend>/NNN_name.sql */
    const char *name; /* NNN_name */
    const char *sql;
} csgp_migration;

extern const csgp_migration csgp_pg_migrations[];
extern const size_t csgp_pg_migrations_count;
extern const csgp_migration csgp_sqlite_migrations[];
extern const size_t csgp_sqlite_migrations_count;

#endif
