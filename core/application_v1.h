/*
 * application_v1.h — transitional: the 1.x fixed application struct, for
 * csg-model only.
 *
 * models/ still parses with the core's rules through the 1.x struct while
 * its own validation is being written (issue 16, item 9). The top-level
 * CMakeLists.txt builds models/ with
 *   -DCSG_APPLICATION_V1_RENAME -include core/application_v1.h
 * so `csg_application` in its sources means this struct. Delete this file,
 * csg_parse_application and that CMake block once models/ stops including
 * application.h.
 */
#ifndef CSG_APPLICATION_V1_H
#define CSG_APPLICATION_V1_H

#include <stdint.h>

#include "csg/plugin.h"

typedef struct csg_application_v1 {
    char applicant_id[CSG_APPLICANT_ID_MAX + 1];
    double income;
    double loan_amount;
    int64_t credit_history;
} csg_application_v1;

#endif /* CSG_APPLICATION_V1_H */

#ifdef CSG_APPLICATION_V1_RENAME
#define csg_application csg_application_v1
#endif
