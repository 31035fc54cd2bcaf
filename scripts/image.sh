#!/usr/bin/env bash
# Builds the pods' image here, with podman and no registry (scripts/test.sh runs it; the
# cluster simulation runs its pods in it). Prints the image's name on stdout, the steps and
# sizes on stderr.
#
#   1. the pods' binary: `cargo build -p volley --no-default-features` (profile: $PROFILE,
#      `release` unless set; the Dockerfile's own build uses `dist`);
#   2. a base rootfs tarball: the shared libraries the binary links (as `ldd` lists them),
#      /etc/passwd and /etc/group with root and nonroot (65532), /etc/nsswitch.conf, the CA
#      certificates, an empty /tmp (1777) and /home/nonroot; `podman import` makes it
#      localhost/volley-base:HASH (HASH: the tarball's content, so an unchanged base is not
#      imported twice);
#   3. `podman build --target prebuilt --build-arg BASE=localhost/volley-base --build-arg BASE_TAG=HASH` of the
#      Dockerfile, with a build context that holds only the binary: $IMAGE
#      (localhost/volley:test unless set).
#
# Idempotent: an unchanged binary gives the same base and a cached build. Every step is
# bounded in time. Needs podman and runc (scripts/test.sh installs them). Run as root, as
# the tests run podman: a rootless podman keeps its images apart and would need subordinate
# ids above 65532, uidmap and slirp4netns (untested).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-release}"
IMAGE="${IMAGE:-localhost/volley:test}"
work="target/image"
say() { printf 'image.sh: %s\n' "$*" >&2; }

for tool in podman runc ldd tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is missing"; exit 1; }
done

# --- 1. the binary ------------------------------------------------------------------
say "cargo build --profile $PROFILE -p volley --no-default-features"
timeout 1800 cargo build --profile "$PROFILE" --locked -q -p volley --no-default-features >&2
if [ "$PROFILE" = dev ]; then bin="target/debug/volley"; else bin="target/$PROFILE/volley"; fi
# The build above writes the full binary's path too (same name): copy it out right away.
rm -rf "$work"
mkdir -p "$work/ctx" "$work/root"
cp "$bin" "$work/ctx/volley"
bin="$work/ctx/volley"

# --- 2. the base rootfs -------------------------------------------------------------
root="$work/root"
# Every library the binary links, and the dynamic loader, at the paths the binary and the
# loader look them up (symlinks resolved: the file itself is copied).
libs="$( (ldd "$bin" || true) | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)"
[ -n "$libs" ] || { say "ldd lists no library for $bin"; exit 1; }
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
chmod 1777 "$root/tmp"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$root/etc/group"
printf '%s\n' 'hosts: files dns' >"$root/etc/nsswitch.conf"
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || { say "$certs is missing (Debian: apt-get install ca-certificates)"; exit 1; }
cp -L "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
# The loader's cache, so the libraries are found wherever the distribution keeps them.
if command -v ldconfig >/dev/null 2>&1 || [ -x /sbin/ldconfig ]; then
  dirs="$(for lib in $libs; do dirname "$lib"; done | sort -u)"
  printf '%s\n' $dirs >"$root/etc/ld.so.conf"
  PATH="$PATH:/sbin:/usr/sbin" ldconfig -r "$root" 2>/dev/null || rm -f "$root/etc/ld.so.cache"
fi
# Reproducible: fixed owners, modes as above, no timestamps; nonroot owns its home.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/base.tar" .
tar --delete -f "$work/base.tar" ./home/nonroot
tar --sort=name --mtime=@0 --owner=65532 --group=65532 --numeric-owner -C "$root" \
  -rf "$work/base.tar" ./home/nonroot
hash="$(sha256sum "$work/base.tar" | cut -c1-12)"
base_repo="localhost/volley-base"
base="$base_repo:$hash"
if podman image exists "$base"; then
  say "base $base exists"
else
  say "podman import → $base"
  timeout 300 podman import --quiet "$work/base.tar" "$base" >/dev/null
fi

# --- 3. the image -------------------------------------------------------------------
say "podman build --target prebuilt --build-arg BASE=$base_repo --build-arg BASE_TAG=$hash → $IMAGE"
timeout 600 podman build --quiet --format docker --runtime runc --target prebuilt --build-arg "BASE=$base_repo" --build-arg "BASE_TAG=$hash" \
  -f Dockerfile -t "$IMAGE" "$work/ctx" >/dev/null

size() { podman image inspect --format '{{.Size}}' "$1"; }
say "sizes: base $(size "$base") bytes, image $(size "$IMAGE") bytes (binary $(stat -c %s "$bin"))"
echo "$IMAGE"
