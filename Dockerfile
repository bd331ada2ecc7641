# ringtrace's container images, one per service, from one source tree:
#
#   docker build --target ms1 -t ringtrace-ms1 .      (likewise ms2, ms3)
#
# It needs BuildKit (the default builder since Docker 23, through buildx) for its cache mount.
# docker-compose.yml builds all three, scripts/publish-images.sh builds and pushes them.
#
# The build stage runs the project's own scripts/build.sh (release preset: Release, no tests),
# the very build the native tests exercise, so what goes into an image is what was tested. The
# runtime stage holds only the Debian runtime packages of the libraries the binaries link (the
# same bookworm release as the build stage, hence one DEBIAN_TAG for both), the binaries, the
# default configuration and an unprivileged user. Every image also carries ringtrace-probe, the
# health check command: the runtime images have no shell tools.

ARG DEBIAN_TAG=12.12-slim

# ------------------------------------------------------------------------------------- build
FROM debian:${DEBIAN_TAG} AS build
WORKDIR /src
# The packages before the sources: this layer is reused until install-deps.sh itself changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
# ccache (CMakeLists.txt) keeps its directory in a BuildKit cache mount: a rebuild after a source
# change recompiles only the files that changed, while the layer itself stays reproducible.
RUN --mount=type=cache,id=ringtrace-ccache,target=/root/.cache/ringtrace/ccache scripts/build.sh release

# ----------------------------------------------------------------------------------- runtime
FROM debian:${DEBIAN_TAG} AS runtime
ARG RINGTRACE_VERSION=dev
LABEL org.opencontainers.image.title="ringtrace" \
      org.opencontainers.image.description="Three services passing a message around a ring: WebSocket, Kafka, HTTP, database; traced with Jaeger" \
      org.opencontainers.image.version="${RINGTRACE_VERSION}"
# The runtime halves of the -dev packages in install-deps.sh (what `ldd build-release/bin/ms1`
# and friends resolve to); their own dependencies (libssl3, libsasl2-2, ...) come along.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-url1.81.0 libfmt9 libspdlog1.10 libyaml-cpp0.7 \
      libpq5 libmariadb3 librdkafka1 librdkafka++1 \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid, so that volumes and Kubernetes' runAsNonRoot see the same numeric user everywhere.
# Its home is the working directory: the default logging.directory (logs) is relative to it.
RUN groupadd --system --gid 10001 ringtrace \
 && useradd --system --uid 10001 --gid ringtrace --home-dir /var/lib/ringtrace --shell /usr/sbin/nologin ringtrace \
 && install -d -o ringtrace -g ringtrace /var/lib/ringtrace /var/log/ringtrace
COPY config/ringtrace.yaml /etc/ringtrace/ringtrace.yaml
COPY --from=build /src/build-release/bin/ringtrace-probe /usr/local/bin/ringtrace-probe
WORKDIR /var/lib/ringtrace
USER 10001:10001

# -------------------------------------------------------------------------- one per service
FROM runtime AS ms1
COPY --from=build /src/build-release/bin/ms1 /usr/local/bin/ms1
# HTTP API: /start, /stop, /store, /status, /healthz, /metrics
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ms1", "--config", "/etc/ringtrace/ringtrace.yaml"]

FROM runtime AS ms2
COPY --from=build /src/build-release/bin/ms2 /usr/local/bin/ms2
# WebSocket (8081) and the admin port: /healthz, /metrics (8091)
EXPOSE 8081 8091
ENTRYPOINT ["/usr/local/bin/ms2", "--config", "/etc/ringtrace/ringtrace.yaml"]

FROM runtime AS ms3
COPY --from=build /src/build-release/bin/ms3 /usr/local/bin/ms3
# Admin port: /healthz, /metrics
EXPOSE 8092
ENTRYPOINT ["/usr/local/bin/ms3", "--config", "/etc/ringtrace/ringtrace.yaml"]
