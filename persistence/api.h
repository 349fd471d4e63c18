/*
 * api.h — csg-persist's REST API (DESIGN §7) on its own thread, event_base and
 * database connection, so it answers while the ingest loop waits for the database.
 */
#ifndef CSGP_API_H
#define CSGP_API_H

#include "auth.h"
#include "metrics.h"
#include "util.h"

typedef struct csgp_api csgp_api;

/* Bind listen ("127.0.0.1:8090") now — a port in use fails here — and start serving on a
 * new thread with its own connection to db_url, enforcing sec (auth.h; NULL: open,
 * plaintext). metrics and sec must outlive the API. */
int csgp_api_start(const char *listen, const char *db_url, csgp_metrics *metrics,
                   const csgp_security *sec, csgp_api **out, csg_error *err);
/* Stop the thread, close the socket and the connection, free everything. */
void csgp_api_stop(csgp_api *api);

#endif
