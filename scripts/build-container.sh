#!/usr/bin/env bash
# Builds the Gatehouse container image without a registry or a Docker engine: a root filesystem
# from `debootstrap --variant=minbase bookworm` (Debian's packages, cached), Node.js from the npm
# registry, Gatehouse with production dependencies, imported into podman as
# localhost/gatehouse:VERSION and :latest, and saved to dist/appliance/ as a docker-archive.
#
#   sudo scripts/build-container.sh [--if-changed]   # needs: debootstrap podman runc; `npm ci` done
#
# --if-changed does nothing when podman already holds the image built from the same sources.
#
# Environment: GATEHOUSE_APPLIANCE_CACHE (default ~/.cache/gatehouse-appliance),
# GATEHOUSE_APPLIANCE_OUT (default dist/appliance), GATEHOUSE_APPLIANCE_REFRESH=1 (rebuild the
# cached debootstrap tree and node_modules), GATEHOUSE_CONTAINER_SAVE=0 (skip the archive).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../appliance/lib/common.sh"

gh_need_root
gh_need podman podman
gh_need runc runc
RUNC="$(command -v runc || echo /usr/sbin/runc)"
podman_() { podman --runtime "$RUNC" "$@"; }
start=$SECONDS
IMAGE="localhost/gatehouse"
SOURCES=(app bin migrations package.json package-lock.json tsconfig.json tsconfig.build.json scripts/bundle.mjs appliance/versions.env appliance/lib appliance/container scripts/build-container.sh)
fingerprint="$(gh_fingerprint "${SOURCES[@]}")"
# --if-changed: nothing to do when the image in podman's store was built from these sources.
if [ "${1:-}" = "--if-changed" ] && podman_ image exists "$IMAGE:$GH_VERSION" &&
  [ "$(podman_ image inspect --format '{{index .Labels "org.gatehouse.source"}}' "$IMAGE:$GH_VERSION")" = "$fingerprint" ]; then
  gh_log "$IMAGE:$GH_VERSION is up to date (sources $fingerprint)"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/gatehouse-container.XXXXXX")"
trap 'gh_cleanup "$work"' EXIT
gh_prepare container "" "$work"
root="$work/rootfs"
cp -a "$GH_BASE" "$root"
rm -f "$root/.complete"

gh_install_gatehouse "$root" "$work/app"
install -m 0755 "$GH_ROOT/appliance/container/healthcheck.mjs" "$root/usr/local/bin/gatehouse-healthcheck"
gh_slim "$root"
# A container has no use for these; podman provides hostname and resolv.conf.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root/etc/machine-id"

previous="$(podman_ image inspect --format '{{.Id}}' "$IMAGE:$GH_VERSION" 2>/dev/null || true)"
gh_log "podman import: $IMAGE:$GH_VERSION"
tar --numeric-owner --xattrs -C "$root" -cf "$work/rootfs.tar" .
rootfs_image="$IMAGE-rootfs:$GH_VERSION"
podman_ import -q \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /var/lib/gatehouse' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV HOME=/var/lib/gatehouse' \
  --change 'ENV NODE_ENV=production' \
  --change 'ENV GATEHOUSE_DATA_DIR=/var/lib/gatehouse' \
  --change 'ENV LISTEN_ADDRESS=0.0.0.0' \
  --change 'ENV HTTP_ADDRESS=0.0.0.0' \
  --change 'VOLUME /var/lib/gatehouse' \
  --change 'EXPOSE 1812/udp' \
  --change 'EXPOSE 1813/udp' \
  --change 'EXPOSE 2083/tcp' \
  --change 'EXPOSE 8080/tcp' \
  --change 'EXPOSE 8443/tcp' \
  --change 'STOPSIGNAL SIGTERM' \
  --change 'ENTRYPOINT ["/usr/local/bin/gatehouse"]' \
  --change 'CMD ["serve"]' \
  --change 'LABEL org.opencontainers.image.title=gatehouse' \
  --change "LABEL org.opencontainers.image.version=$GH_VERSION" \
  --change "LABEL org.gatehouse.source=$fingerprint" \
  --message "gatehouse $GH_VERSION root filesystem (debootstrap $DEBIAN_SUITE, Node.js $NODE_VERSION)" \
  "$work/rootfs.tar" "$rootfs_image" >/dev/null
# `podman import --change` knows no HEALTHCHECK: a build with no RUN step (nothing is run, no
# registry is asked) adds it, in Docker's image format, which is the one that carries it.
cat >"$work/Containerfile" <<EOF
FROM $rootfs_image
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/gatehouse-healthcheck"]
EOF
mkdir -p "$work/context"
podman_ build -q --format docker --pull=never -t "$IMAGE:$GH_VERSION" -t "$IMAGE:latest" -f "$work/Containerfile" "$work/context" >/dev/null
podman_ untag "$rootfs_image" >/dev/null 2>&1 || true
# The image this one replaces (now untagged), unless a container still uses it.
[ -z "$previous" ] || podman_ rmi "$previous" >/dev/null 2>&1 || true

if [ "${GATEHOUSE_CONTAINER_SAVE:-1}" != 0 ]; then
  mkdir -p "$GH_OUT"
  out="$GH_OUT/gatehouse-container-$GH_VERSION.tar"
  rm -f "$out"
  podman_ save -q --format docker-archive -o "$out" "$IMAGE:$GH_VERSION" "$IMAGE:latest" 2>/dev/null || podman_ save -q --format docker-archive -o "$out" "$IMAGE:$GH_VERSION"
  gh_log "saved $out ($(du -h "$out" | cut -f1))"
fi
size="$(podman_ image inspect --format '{{.Size}}' "$IMAGE:$GH_VERSION")"
gh_log "built $IMAGE:$GH_VERSION ($((size / 1024 / 1024)) MiB) in $((SECONDS - start)) s"
