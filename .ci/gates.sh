#!/usr/bin/env bash
# The static gates that .ci/run runs before any test (issue 11). Each failure fails the build;
# every gate runs even when an earlier one failed, so one run shows all that is wrong.
# Run them locally after `npm ci` with `npm run gates` (CONTRIBUTING.md says what each checks).
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${STRATA_CACHE_DIR:-${HOME}/.cache/strata}"
# the helm that test/env/build-tools.sh builds (one version, read from that script)
HELM_VERSION="${HELM_VERSION:-$(sed -n 's/^HELM_VERSION="${HELM_VERSION:-\([0-9.]*\)}"$/\1/p' test/env/build-tools.sh)}"
HELM="${CACHE}/helm-v${HELM_VERSION}/bin/helm"

helm_lint() {
  if [[ ! -x "${HELM}" ]]; then
    bash test/env/build-tools.sh helm || return 1
  fi
  "${HELM}" lint --strict charts/strata-operator
}

crds_check() {
  # `crds:check` compares the chart's CRD YAML with what the schemas in packages/operator/src/crd/
  # generate. A tree without the script (before the CRD generation landed) says so and passes.
  if node -e 'process.exit(JSON.parse(require("node:fs").readFileSync("package.json","utf8")).scripts?.["crds:check"] ? 0 : 1)'; then
    npm run --silent crds:check
  else
    echo "crds:check: package.json has no \"crds:check\" script yet: CRD consistency NOT checked"
  fi
}

failed=()
gate() {
  local name="$1" t0=${SECONDS}
  shift
  echo "::: gate ${name}"
  if "$@"; then
    echo "::: gate ${name}: passed ($((SECONDS - t0)) s)"
  else
    echo "::: gate ${name}: FAILED ($((SECONDS - t0)) s)"
    failed+=("${name}")
  fi
}

gate "biome check ." npm run --silent lint
gate "typecheck (packages with tests, test/, bench/, root)" npm run --silent typecheck
gate "helm lint --strict charts/strata-operator" helm_lint
gate "knip (unused files, exports, dependencies)" npm run --silent knip
gate "crds:check" crds_check
gate "engines (every dependency runs on the Node floor and on Node 24)" node .ci/engines.mjs

if ((${#failed[@]} > 0)); then
  printf '::: gates FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "::: gates: all passed"
