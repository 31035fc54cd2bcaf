# The `volley` image: the binary of the coordinator and runner pods. It is built without
# the default features (see cli/Cargo.toml), so it holds `volley coordinator` and `volley
# runner` only: no compiler, no kube client, no demo shop, no miette (deploying, e.g. from
# CI, takes the full `volley` of `cargo install --path cli`). The binary goes onto a minimal
# non-root base (by default distroless cc: glibc and CA certificates, no shell, no package
# manager), user 65532, entrypoint /volley. The manifests run it with a read-only root
# filesystem, every capability dropped and no privilege escalation.
#
# Two ways to build it (docs/kubernetes.md, "Install"):
#
# - From the sources, in two stages (the Rust toolchain, then the binary on the base); the
#   default target, for docker or podman with registry access:
#
#     docker build -t ghcr.io/acme/volley:0.1.0 .
#
# - From a prebuilt binary (target `prebuilt`): the build context is a directory that
#   holds only the `volley` binary, and the builder stage is skipped (nothing is pulled
#   for it; podman, and docker's default BuildKit builder, skip unused stages). The base is any image with the binary's shared libraries, user 65532 and CA
#   certificates; scripts/image.sh makes one from the build machine's libraries with
#   `podman import` and builds this target on it, with no registry at all:
#
#     cargo build --profile dist --locked -p volley --no-default-features
#     mkdir ctx && cp target/dist/volley ctx/
#     podman build --target prebuilt --build-arg BASE=localhost/volley-base --build-arg BASE_TAG=TAG -t volley ctx -f Dockerfile
#
# BASE:BASE_TAG is the base of both targets (two arguments, so that the FROM line names a
# tag a policy scanner can check).
ARG BASE=gcr.io/distroless/cc-debian12
ARG BASE_TAG=nonroot

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The `dist` profile: thin LTO and line tables, slower to build than `release`.
RUN cargo build --profile dist --locked -p volley --no-default-features \
 && install -D -m 0755 target/dist/volley /out/volley

# The runtime settings, shared by both targets.
FROM ${BASE}:${BASE_TAG} AS runtime
USER 65532:65532
EXPOSE 6565
# Kubernetes probes the coordinator's /healthz; a Docker health check has no meaning for
# the runners (they serve nothing).
HEALTHCHECK NONE
ENTRYPOINT ["/volley"]

# The binary from the build context (see above).
FROM runtime AS prebuilt
COPY volley /volley

# The default target: the binary from the builder stage.
FROM runtime
COPY --from=build /out/volley /volley
