# syntax=docker/dockerfile:1.7
# Strata: every binary in one image.
#
#   docker build -t strata:dev .
#   docker run --rm -p 3200:3200 -p 4317:4317 -p 4318:4318 strata:dev
#   (Zipkin and Jaeger too: -p 9411:9411 -p 14250:14250 -p 14268:14268 -p 6831:6831/udp -p 6832:6832/udp)
#
# Stage 1 builds the release binaries. BuildKit cache mounts keep the cargo registry, the git
# checkouts and the target directory between builds, so a source change rebuilds only the
# crates that changed; dependencies are fetched in their own step from the lock file.
# Stage 2 is a slim Debian with the binaries, a non-root user (uid 10001) and the data
# directories (/var/strata/wal for the WAL, /var/strata/data for local blocks).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# protoc is needed by crates that generate gRPC code at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# Download every dependency named in Cargo.lock first (network step, cached on its own).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo fetch --locked
ARG CARGO_PROFILE=release
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --locked --offline --profile "${CARGO_PROFILE}" \
        --bin strata \
        --bin strata-distributor \
        --bin strata-ingester \
        --bin strata-querier \
        --bin strata-compactor \
        --bin strata-metrics-generator \
    && mkdir -p /out \
    && for bin in strata strata-distributor strata-ingester strata-querier strata-compactor \
                strata-metrics-generator; do \
         cp "target/${CARGO_PROFILE}/${bin}" /out/; \
       done

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 strata \
    && useradd --system --uid 10001 --gid strata --home-dir /var/strata --shell /usr/sbin/nologin strata \
    && mkdir -p /var/strata/wal /var/strata/data /etc/strata \
    && chown -R strata:strata /var/strata
COPY --from=builder /out/ /usr/local/bin/
# Default configuration: all roles in one process, WAL and blocks under the volumes below.
COPY deploy/config/image.yaml /etc/strata/strata.yaml
USER 10001:10001
WORKDIR /var/strata
ENV STRATA_CONFIG=/etc/strata/strata.yaml
# 3200: HTTP API, /ready, /metrics (and /metrics/generator on the metrics-generator).
# 4317/4318: OTLP gRPC/HTTP. 9095: internal gRPC (ingester, metrics-generator).
# 9411: Zipkin. 14250/14268: Jaeger gRPC and Thrift over HTTP. 6831/6832 (UDP): Jaeger agent.
EXPOSE 3200 4317 4318 9095 9411 14250 14268 6831/udp 6832/udp
VOLUME ["/var/strata/wal", "/var/strata/data"]
ENTRYPOINT ["/usr/local/bin/strata"]
CMD ["run"]
