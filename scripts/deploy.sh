#!/usr/bin/env bash
# Deploy buylist to minikube with one command (make deploy): start the cluster if needed, build both images inside
# it, install the chart and its dependencies, and print the UI's URL. Safe to run again: every step is idempotent.
# Settings (environment):
#   MINIKUBE_PROFILE (buylist)  MINIKUBE_CPUS (4)  MINIKUBE_MEMORY (8g)  MINIKUBE_DISK (40g)
#   MINIKUBE_DRIVER (minikube's choice; docker or podman need their CLI here)  MINIKUBE_K8S_VERSION (minikube's default)
#   BUYLIST_NAMESPACE (buylist)  BUYLIST_RELEASE (buylist)  BUYLIST_IMAGE_TAG (dev)  BUYLIST_HELM_TIMEOUT (15m)
#   BUYLIST_OPEN_BROWSER (1: open the UI when a browser opener exists and this runs on a terminal)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BUYLIST_ROOT"

PROFILE=${MINIKUBE_PROFILE:-buylist}
CPUS=${MINIKUBE_CPUS:-4}
MEMORY=${MINIKUBE_MEMORY:-8g}
DISK=${MINIKUBE_DISK:-40g}
DRIVER=${MINIKUBE_DRIVER:-}
K8S_VERSION=${MINIKUBE_K8S_VERSION:-}
NAMESPACE=${BUYLIST_NAMESPACE:-buylist}
RELEASE=${BUYLIST_RELEASE:-buylist}
TAG=${BUYLIST_IMAGE_TAG:-dev}
TIMEOUT=${BUYLIST_HELM_TIMEOUT:-15m}
CHART=charts/buylist
VALUES=$CHART/ci/minikube-values.yaml

have() { command -v "$1" >/dev/null 2>&1; }
cluster_running() { [[ $(minikube status -p "$PROFILE" --format '{{.Host}}' 2>/dev/null) == Running ]]; }

# Name everything that is missing at once, before touching anything.
preflight() {
  local missing=()
  have minikube || missing+=("minikube (https://minikube.sigs.k8s.io/docs/start/)")
  have kubectl || missing+=("kubectl (https://kubernetes.io/docs/tasks/tools/, or 'minikube kubectl')")
  if have helm; then
    HELM=helm
  elif [[ -x $HELM_BIN ]]; then
    HELM=$HELM_BIN
  elif have go; then
    HELM=$HELM_BIN  # built by scripts/install.sh helm in step 4
  else
    missing+=("helm $HELM_VERSION (https://helm.sh/docs/intro/install/, or Go 1.24+ for scripts/install.sh helm)")
  fi
  # A running cluster needs no driver; a new one needs the container engine it runs in.
  if have minikube && ! cluster_running; then
    case $DRIVER in
      "") have docker || have podman || missing+=("docker or podman for minikube's driver (or set MINIKUBE_DRIVER)") ;;
      docker | podman) have "$DRIVER" || missing+=("$DRIVER (MINIKUBE_DRIVER=$DRIVER)") ;;
    esac
  fi
  if ((${#missing[@]})); then
    printf '\033[1;31merror:\033[0m missing prerequisites:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
  [[ -f $VALUES ]] || die "$VALUES not found: is this a complete checkout?"
}

# The same arguments for both helm passes, so the second changes nothing but what the first could not render.
helm_upgrade() {
  "$HELM" upgrade --install "$RELEASE" "$CHART" --kube-context "$PROFILE" -n "$NAMESPACE" --create-namespace \
    --wait --timeout "$TIMEOUT" -f "$VALUES" \
    --set image.backend.repository=buylist/backend --set "image.backend.tag=$TAG" \
    --set image.frontend.repository=buylist/frontend --set "image.frontend.tag=$TAG" \
    --set image.pullPolicy=Never
}

# helm only says it timed out; the pods say which one is stuck and why.
not_ready() {
  kubectl --context "$PROFILE" -n "$NAMESPACE" get pods -o wide >&2 || true
  die "the release did not become ready; see the pods above (kubectl --context $PROFILE -n $NAMESPACE describe pod ...)"
}

frontend_url() {
  local selector="app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=user-buy-frontend" svc type urls
  svc=$(kubectl --context "$PROFILE" -n "$NAMESPACE" get service -l "$selector" -o jsonpath='{.items[0].metadata.name}')
  [[ -n $svc ]] || die "no Service labelled $selector in namespace $NAMESPACE"
  type=$(kubectl --context "$PROFILE" -n "$NAMESPACE" get service "$svc" -o jsonpath='{.spec.type}')
  if [[ $type == NodePort || $type == LoadBalancer ]]; then
    # One URL per port; the UI's is the first. (With the docker driver on macOS this command keeps a tunnel open.)
    urls=$(minikube service -p "$PROFILE" -n "$NAMESPACE" "$svc" --url)
    printf '%s\n' "${urls%%$'\n'*}"
  else
    warn "service $svc is $type; reach it with: kubectl --context $PROFILE -n $NAMESPACE port-forward svc/$svc 8080:80"
  fi
}

preflight
started=$SECONDS

say "1/7 minikube: profile $PROFILE"
if cluster_running; then
  say "    already running"
else
  start_args=(start -p "$PROFILE" --cpus "$CPUS" --memory "$MEMORY" --disk-size "$DISK")
  [[ -z $DRIVER ]] || start_args+=(--driver "$DRIVER")
  [[ -z $K8S_VERSION ]] || start_args+=(--kubernetes-version "$K8S_VERSION")
  say "    starting: ${CPUS} CPUs, ${MEMORY} memory (minikube ${start_args[*]})"
  minikube "${start_args[@]}"
fi

say "2/7 minikube: metrics-server addon (resource metrics for kubectl top and the HPAs)"
minikube addons enable metrics-server -p "$PROFILE"

# `minikube image build` builds inside the node's own container runtime (docker, containerd or cri-o alike), so the
# images are there for pullPolicy Never, without a registry, a docker CLI here, or `minikube docker-env` left behind
# in this shell. Each context is its image's directory, filtered by the .dockerignore in it.
say "3/7 images: buylist/backend:$TAG and buylist/frontend:$TAG, built inside minikube"
minikube image build -p "$PROFILE" -t "buylist/backend:$TAG" apps
minikube image build -p "$PROFILE" -t "buylist/frontend:$TAG" apps/frontend

say "4/7 chart dependencies: helm dependency build $CHART (Kafka, MongoDB, Prometheus, prometheus-adapter, KEDA)"
[[ -x $HELM || $HELM == helm ]] || scripts/install.sh helm
"$HELM" dependency build "$CHART"

say "5/7 helm upgrade --install $RELEASE (namespace $NAMESPACE; waits until every pod is ready, at most $TIMEOUT)"
with_progress "helm upgrade --install --wait" helm_upgrade || not_ready

# The chart renders its ScaledObject only once the API server serves KEDA's CRDs, which the first pass installs.
say "6/7 KEDA: waiting for its CRDs, then a second pass to create the worker's ScaledObject"
kubectl --context "$PROFILE" wait --for condition=established --timeout=5m crd/scaledobjects.keda.sh
with_progress "helm upgrade --install --wait" helm_upgrade || not_ready

say "7/7 the UI"
url=$(frontend_url)
say "buylist is up in $((SECONDS - started))s (kubectl --context $PROFILE -n $NAMESPACE get pods)"
if [[ -n $url ]]; then
  printf '\n    UI    %s\n\n' "$url"
  if [[ ${BUYLIST_OPEN_BROWSER:-1} == 1 && -t 1 ]]; then
    if have xdg-open; then
      xdg-open "$url" >/dev/null 2>&1 || true
    elif have open; then
      open "$url" || true
    fi
  fi
fi
