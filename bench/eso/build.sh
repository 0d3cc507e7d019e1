#!/usr/bin/env bash
# Builds External Secrets Operator v0.16.2 (the peer raced in bench/scale) from the Go module
# proxy into ~/.cache/strata/eso-v0.16.2/ (STRATA_CACHE_DIR overrides ~/.cache/strata).
# No ESO code is committed to this repository. ESO's go.mod has a replace line
# (github.com/Masterminds/sprig/v3 => github.com/external-secrets/sprig/v3), which `go install
# module@version` refuses, so this builds inside the module's own downloaded source, where the
# replace applies. Its CRDs (deploy/crds/bundle.yaml) are copied from the same source. Takes ~5 min on 2 cores.
# Bench only: never run in CI.
set -euo pipefail
VERSION="${ESO_VERSION:-v0.16.2}"
CACHE="${STRATA_CACHE_DIR:-$HOME/.cache/strata}"
OUT="$CACHE/eso-$VERSION"
MODULE=github.com/external-secrets/external-secrets

if [ -x "$OUT/bin/external-secrets" ] && [ -f "$OUT/crds/bundle.yaml" ]; then
  echo "ESO $VERSION already built: $OUT/bin/external-secrets"
  exit 0
fi
command -v go >/dev/null || { echo "go is required (Go >= 1.24) to build ESO $VERSION" >&2; exit 1; }

mkdir -p "$OUT/bin" "$OUT/crds"
# Download the module's source (verified against the checksum database) and find its folder.
SRC=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$SRC" ] && [ -f "$SRC/go.mod" ] || { echo "go mod download of $MODULE@$VERSION gave no source" >&2; exit 1; }

# Build in the (read-only) module folder: go.mod and go.sum there are used as shipped.
if [ ! -x "$OUT/bin/external-secrets" ]; then
  ( cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n "${ESO_NICE:-15}" \
      go build -trimpath -ldflags "-s -w" -o "$OUT/bin/external-secrets.tmp" . )
  mv "$OUT/bin/external-secrets.tmp" "$OUT/bin/external-secrets"
fi
# Every CRD the controller watches, as ESO ships them to users (deploy/crds/bundle.yaml:
# external-secrets.io and generators.external-secrets.io, no conversion webhook). The manager
# stops when a watched kind, such as GeneratorState, has no CRD.
rm -f "$OUT"/crds/*.yaml
cp "$SRC/deploy/crds/bundle.yaml" "$OUT/crds/bundle.yaml"
echo "$VERSION" > "$OUT/VERSION"
echo "built $OUT/bin/external-secrets"
