# Kafka broker (KRaft, single node) on 127.0.0.1:9092, data in var/kafka.
# scripts/kafka keeps its own pid file (var/kafka/broker.pid) and log
# (var/kafka/broker.log), fetches the jars on first use and creates the topics.
SVC_NAME=kafka
SVC_URL=127.0.0.1:9092
secure_on && SVC_URL="127.0.0.1:9092 (TLS, CA $CSG_SECURE_DIR/ca.pem)"
SVC_TIMEOUT=120
svc_health() { scripts/kafka status --quiet --port 9092 --data var/kafka; }
# Secure stack: the client listener speaks TLS only (scripts/kafka --tls).
svc_start() {
  local tls=(); secure_on && tls=(--tls "$CSG_SECURE_DIR")
  scripts/kafka up --port 9092 --data var/kafka "${tls[@]}"
}
svc_stop() { scripts/kafka down --quiet --port 9092 --data var/kafka; }
