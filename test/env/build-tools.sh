#!/usr/bin/env bash
# Builds the real Kubernetes control plane (kube-apiserver, kube-controller-manager),
# etcd and helm from the Go module proxy, once, into a cache outside the repository:
#
#   ${STRATA_CACHE_DIR:-~/.cache/strata}/k8s-v${K8S_VERSION}/bin/{kube-apiserver,kube-controller-manager}
#   ${STRATA_CACHE_DIR:-~/.cache/strata}/etcd-v${ETCD_VERSION}/bin/etcd
#   ${STRATA_CACHE_DIR:-~/.cache/strata}/helm-v${HELM_VERSION}/bin/helm
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging module
# (k8s.io/api, k8s.io/apimachinery, ...) with a local path. We generate a small wrapper
# module that requires k8s.io/kubernetes and replaces each staging module with the
# published v0.X.Y of the same release. Version ldflags make /version report the release.
#
# Usage: test/env/build-tools.sh [k8s|etcd|helm|all]   (default: all). Safe to re-run.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE="${STRATA_CACHE_DIR:-${HOME}/.cache/strata}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0

log() { printf '[build-tools %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is required to build the Kubernetes test binaries (kube-apiserver, etcd, helm)." >&2
    echo "       Install Go 1.24 or newer (https://go.dev/doc/install, or 'apt-get install golang') and re-run." >&2
    exit 3
  fi
}

build_k8s() {
  local out="${CACHE}/k8s-v${K8S_VERSION}/bin"
  if [[ -x "${out}/kube-apiserver" && -x "${out}/kube-controller-manager" ]]; then
    log "kube-apiserver/kube-controller-manager v${K8S_VERSION}: cached in ${out}"
    return
  fi
  need_go
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local staging_version="v0.${K8S_VERSION#*.}"
  local src="${CACHE}/k8s-v${K8S_VERSION}/src"
  mkdir -p "${src}" "${out}"
  log "fetching k8s.io/kubernetes v${K8S_VERSION} go.mod (staging modules -> ${staging_version})"
  local modfile
  modfile="$(cd "${src}" && go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module strata.test/k8sbuild"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo
    echo "replace ("
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "${modfile}" | awk -v v="${staging_version}" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"${src}/go.mod"
  cat >"${src}/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  log "resolving dependencies (go mod tidy)"
  (cd "${src}" && go mod tidy)
  local pkg="k8s.io/component-base/version" cpkg="k8s.io/client-go/pkg/version"
  local date; date="$(date -u +'%Y-%m-%dT%H:%M:%SZ')"
  local ld="-s -w"
  for p in "${pkg}" "${cpkg}"; do
    ld+=" -X ${p}.gitVersion=v${K8S_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${minor}"
    ld+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=${date} -X ${p}.gitCommit=module-proxy-v${K8S_VERSION}"
  done
  for cmd in kube-apiserver kube-controller-manager; do
    log "building ${cmd} v${K8S_VERSION} (first run only; several minutes on 2 cores)"
    (cd "${src}" && go build -trimpath -ldflags "${ld}" -o "${out}/${cmd}.tmp" "k8s.io/kubernetes/cmd/${cmd}")
    mv "${out}/${cmd}.tmp" "${out}/${cmd}"
    log "built ${out}/${cmd}"
  done
}

build_etcd() {
  local out="${CACHE}/etcd-v${ETCD_VERSION}/bin"
  if [[ -x "${out}/etcd" ]]; then log "etcd v${ETCD_VERSION}: cached in ${out}"; return; fi
  need_go
  local src="${CACHE}/etcd-v${ETCD_VERSION}/src"
  mkdir -p "${src}" "${out}"
  cat >"${src}/go.mod" <<MOD
module strata.test/etcdbuild

go 1.24.0

require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}
MOD
  cat >"${src}/main.go" <<'GO'
// Command etcd is etcd's own entry point (etcdmain.Main), built from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  log "building etcd v${ETCD_VERSION}"
  (cd "${src}" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "${out}/etcd.tmp" .)
  mv "${out}/etcd.tmp" "${out}/etcd"
  log "built ${out}/etcd"
}

build_helm() {
  local out="${CACHE}/helm-v${HELM_VERSION}/bin"
  if [[ -x "${out}/helm" ]]; then log "helm v${HELM_VERSION}: cached in ${out}"; return; fi
  need_go
  mkdir -p "${out}"
  log "building helm v${HELM_VERSION}"
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}"
  GOBIN="${out}" GOFLAGS= go install -trimpath -ldflags "${ld}" "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}"
  log "built ${out}/helm"
}

case "${1:-all}" in
  k8s) build_k8s ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  all) build_etcd; build_helm; build_k8s ;;
  *) echo "usage: $0 [k8s|etcd|helm|all]" >&2; exit 2 ;;
esac
