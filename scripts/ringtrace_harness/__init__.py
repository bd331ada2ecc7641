"""ringtrace's test and development harness (Python 3.11, standard library only).

It starts the native servers the tests and tools need, runs the ring, and inspects what the ring
stored. One module a concern:

  pins      the version pins (scripts/versions.env), read by bash, Python and the tests alike
  wait      the one poll-with-a-deadline helper
  system    messages, apt-get, logs, locks, processes and ports (by PID, never by name)
  postgres, mariadb, kafka, jaeger, gateway
            one module a server: up (idempotent), down, status, crash, pids
  kafka_cluster
            the replicated Kafka cluster (infra.sh up kafka --brokers N), on kafka's jars
  infra     the command line of scripts/infra.sh over those six
  ring      MS1, MS2 and MS3 started here, health waits, GET /start, MS1's console lines
  db        the database MS1 writes: row counts, repeated ids, a session's row
  run       the command line of scripts/run.sh
  bench_json
            scripts/bench.sh --json: the figures, the options and the machine as one document

Entry points: scripts/infra.sh and scripts/run.sh exec `python3 -m ringtrace_harness.infra|run`
with scripts/ on PYTHONPATH; Python tests put <repo>/scripts on sys.path and import it.

State (data, logs, pid files) lives in <repo>/.run/; downloads and builds (the Kafka jars and their
Maven repository, the Jaeger binary, Go's caches) in ${RINGTRACE_CACHE_DIR:-~/.cache/ringtrace}.
"""
