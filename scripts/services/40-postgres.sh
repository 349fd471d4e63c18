# PostgreSQL for csg-persist on 127.0.0.1:5433 (Debian's server binaries run as the
# postgres OS user; data in /var/tmp/csg/pg-5433, outside the clone; roles csg_owner and
# csg_app, passwords in /var/tmp/csg/pg-5433.pgpass). See scripts/postgres.
SVC_NAME=postgres
SVC_URL=postgresql://csg_app@127.0.0.1:5433/csg
SVC_TIMEOUT=90
svc_health() { scripts/postgres status --port 5433 >/dev/null 2>&1; }
svc_start() { scripts/postgres up --port 5433 >/dev/null; }
svc_stop() { scripts/postgres down --port 5433; }
