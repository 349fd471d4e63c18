/*
 * promote.h — `csg-gateway promote` and `csg-gateway rollback` (promote.c:
 * the config rewrite; promote_cmd.c: the command line, check, atomic
 * replace and reload).
 */
#ifndef CSG_PROMOTE_H
#define CSG_PROMOTE_H

#include <stddef.h>

/* The text of config src (len bytes; file names it in messages) with
 * challenger made the champion and the champion a challenger at its weight.
 * 0 and a malloc'd *out; -1 and a message in err. */
int csg_promote_rewrite(const char *file, const char *src, size_t len, const char *challenger,
                        char **out, char *err, size_t ecap);

/* argv[0] is "promote" or "rollback"; returns the exit status. */
int csg_promote_main(int argc, char **argv);

#endif /* CSG_PROMOTE_H */
