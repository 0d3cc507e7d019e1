#!/usr/bin/env bash
# End-to-end on kind, for users with Docker and kind (kind pulls its node image, and Strata's CI
# machines reach no registry; there the same image runs under podman from the chart's container
# spec, see test/env/pod.ts). Builds the image from packages/operator/Dockerfile (BASE=<image>
# overrides the public Node 20 base), creates a cluster, runs moto in it, installs the chart,
# creates a SourcePolicy + SecretSync, and waits for the Secret.
set -euo pipefail
cd "$(dirname "$0")/../../.."
CLUSTER="${CLUSTER:-strata-e2e}"
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required for the kind end-to-end" >&2; exit 3; }
done
docker build -f packages/operator/Dockerfile ${BASE:+--build-arg "BASE=${BASE}"} -t strata-operator:e2e .
kind create cluster --name "$CLUSTER" --wait 120s
trap 'kind delete cluster --name "$CLUSTER"' EXIT
kind load docker-image strata-operator:e2e --name "$CLUSTER"

kubectl create namespace aws
kubectl -n aws run moto --image=motoserver/moto:5.2.5 --port=5000 --expose
kubectl -n aws wait --for=condition=Ready pod/moto --timeout=120s
kubectl -n aws run seed --rm -i --restart=Never --image=amazon/aws-cli --env AWS_ACCESS_KEY_ID=x \
  --env AWS_SECRET_ACCESS_KEY=x --env AWS_DEFAULT_REGION=us-east-1 -- \
  --endpoint-url http://moto.aws:5000 ssm put-parameter --name /e2e/app/greeting --value hello --type String

helm install strata-operator charts/strata-operator -n strata-system --create-namespace \
  --set image.repository=strata-operator --set image.tag=e2e --set image.pullPolicy=Never \
  --set aws.region=us-east-1 --set aws.endpoint=http://moto.aws:5000 \
  --set-string 'extraEnv[0].name=AWS_ACCESS_KEY_ID,extraEnv[0].value=x,extraEnv[1].name=AWS_SECRET_ACCESS_KEY,extraEnv[1].value=x' \
  --wait --timeout 180s

kubectl create namespace e2e
kubectl apply -f - <<'YAML'
apiVersion: strata.dev/v1alpha1
kind: SourcePolicy
metadata: { name: e2e }
spec: { namespaces: { names: [e2e] }, ssm: { paths: [/e2e] } }
---
apiVersion: strata.dev/v1alpha1
kind: SecretSync
metadata: { name: app, namespace: e2e }
spec:
  target: { name: app }
  sources: [{ hierarchy: { levels: [/e2e/app] } }]
YAML
for _ in $(seq 60); do
  v="$(kubectl -n e2e get secret app -o jsonpath='{.data.greeting}' 2>/dev/null | base64 -d || true)"
  [[ "$v" == hello ]] && { echo "e2e: ok"; exit 0; }
  sleep 2
done
kubectl -n e2e get secretsync app -o yaml
echo "e2e: the Secret did not appear" >&2
exit 1
