#!/usr/bin/env bash
# Remove what scripts/deploy.sh installed (make cleanup): cleanup.sh [--delete-cluster]
#   default           uninstall the release and delete its namespace (purchases, topics and volumes go with it);
#                     the minikube cluster and its images stay for the next `make deploy`
#   --delete-cluster  also delete the whole minikube profile (`minikube delete`)
# Same settings as deploy.sh: MINIKUBE_PROFILE (buylist), BUYLIST_NAMESPACE (buylist), BUYLIST_RELEASE (buylist).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BUYLIST_ROOT"

PROFILE=${MINIKUBE_PROFILE:-buylist}
NAMESPACE=${BUYLIST_NAMESPACE:-buylist}
RELEASE=${BUYLIST_RELEASE:-buylist}

delete_cluster=0
for arg in "$@"; do
  case $arg in
    --delete-cluster) delete_cluster=1 ;;
    -h | --help) sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (usage: cleanup.sh [--delete-cluster])" ;;
  esac
done

command -v minikube >/dev/null 2>&1 || die "minikube is missing: there is no local cluster to clean up"

if [[ $(minikube status -p "$PROFILE" --format '{{.Host}}' 2>/dev/null) != Running ]]; then
  say "minikube profile $PROFILE is not running: no release to remove"
else
  command -v kubectl >/dev/null 2>&1 || die "kubectl is missing (https://kubernetes.io/docs/tasks/tools/)"
  if command -v helm >/dev/null 2>&1; then
    HELM=helm
  elif [[ -x $HELM_BIN ]]; then
    HELM=$HELM_BIN
  else
    die "helm is missing (https://helm.sh/docs/intro/install/, or scripts/install.sh helm)"
  fi
  if "$HELM" status "$RELEASE" --kube-context "$PROFILE" -n "$NAMESPACE" >/dev/null 2>&1; then
    say "helm uninstall $RELEASE (namespace $NAMESPACE)"
    "$HELM" uninstall "$RELEASE" --kube-context "$PROFILE" -n "$NAMESPACE" --wait --timeout 5m
  else
    say "release $RELEASE is not installed in namespace $NAMESPACE"
  fi
  # The namespace also holds what helm does not own: the subcharts' PersistentVolumeClaims and their data.
  say "deleting namespace $NAMESPACE"
  kubectl --context "$PROFILE" delete namespace "$NAMESPACE" --ignore-not-found --wait --timeout 5m
fi

if ((delete_cluster)); then
  say "deleting minikube profile $PROFILE"
  minikube delete -p "$PROFILE"
fi
say "cleanup done"
