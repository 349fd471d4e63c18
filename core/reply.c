/*
 * reply.c — see reply.h.
 */
#include "reply.h"

#include <math.h>

#include "application.h"
#include "config.h"
#include "jsonw.h"

size_t csg_format_reply(const csg_reply *r, char *buf, size_t cap)
{
    if (r->status != CSG_REPLY_OK)
        return csg_json_error(csg_reply_status_code(r->status),
                                r->error_message ? r->error_message : "request failed", NULL, buf,
                                cap);
    csg_jsonw w = {buf, cap, 0};
    csg_jsonw_lit(&w, "{\"applicant_id\":");
    csg_jsonw_str(&w, r->applicant_id);
    csg_jsonw_lit(&w, ",\"score\":");
    csg_jsonw_double(&w, r->is_fallback ? NAN : r->score);
    csg_jsonw_lit(&w, ",\"decision\":");
    csg_jsonw_str(&w, csg_decision_name(r->decision));
    csg_jsonw_lit(&w, ",\"model\":");
    csg_jsonw_str(&w, r->model);
    csg_jsonw_lit(&w, ",\"experiment_id\":");
    csg_jsonw_str(&w, r->experiment_id);
    csg_jsonw_lit(&w, ",\"request_id\":");
    csg_jsonw_str(&w, r->request_id);
    /* Always present (DESIGN §5): [] on approve and from adapters without reasons. */
    csg_jsonw_lit(&w, ",\"reasons\":[");
    unsigned n = CSG_STRUCT_HAS(r, csg_reply, reasons) && r->reasons ? r->reason_count : 0; // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
    for (unsigned i = 0; i < n; i++) {
        csg_jsonw_lit(&w, i ? ",{\"code\":" : "{\"code\":");
        csg_jsonw_str(&w, r->reasons[i].code);
        csg_jsonw_lit(&w, ",\"feature\":");
        csg_jsonw_str(&w, r->reasons[i].feature);
        csg_jsonw_lit(&w, ",\"text\":");
        csg_jsonw_str(&w, r->reasons[i].text);
        csg_jsonw_lit(&w, "}");
    }
    csg_jsonw_lit(&w, "]");
    /* Which model's decision this is (DESIGN §5); a reply built by an older core has none. */
    const char *arm = CSG_STRUCT_HAS(r, csg_reply, arm) && r->arm ? r->arm : "champion"; // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
    csg_jsonw_lit(&w, ",\"arm\":");
    csg_jsonw_str(&w, arm);
    if (r->is_fallback)
        csg_jsonw_lit(&w, ",\"fallback\":true");
    csg_jsonw_lit(&w, "}");
    return csg_jsonw_finish(&w);
}
