/*
 * rebalance.h — `csg-gateway rebalance --config FILE` (rebalance.c).
 */
#ifndef CSG_REBALANCE_H
#define CSG_REBALANCE_H

/* argv[0] is "rebalance"; returns the exit status. */
int csg_rebalance_main(int argc, char **argv);

#endif /* CSG_REBALANCE_H */
