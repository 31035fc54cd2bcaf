# The `volley` image: the binary of the coordinator and runner pods. It is built without
# the default features (see cli/Cargo.toml), so it holds `volley coordinator` and `volley
# runner` only: no compiler, no kube client, no demo shop, no miette (deploying, e.g. from
# CI, takes the full `volley` of `cargo install --path cli`). Multi-stage: build with the
# Rust toolchain, then copy the binary onto a minimal non-root base (distroless cc: glibc
# and CA certificates, no shell, no package manager), user 65532, entrypoint /volley.
#
#   docker build -t ghcr.io/acme/volley:0.1.0 .
#
# The manifests run it with a read-only root filesystem and every capability dropped.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The `dist` profile: thin LTO and line tables, slower to build than `release`.
RUN cargo build --profile dist --locked -p volley --no-default-features \
 && install -D -m 0755 target/dist/volley /out/volley

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/volley /volley
USER 65532:65532
EXPOSE 6565
# Kubernetes probes the coordinator's /healthz; a Docker health check has no meaning for
# the runners (they serve nothing).
HEALTHCHECK NONE
ENTRYPOINT ["/volley"]
