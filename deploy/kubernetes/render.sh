#!/usr/bin/env bash
# Renders deploy/kubernetes/herald.yaml from the Helm chart with its default values (release
# "herald"). `--stdout` prints instead of writing. Helm: $HERALD_HELM, else the one .ci/test
# unpacks to target/tools/helm, else `helm` on the PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
helm="${HERALD_HELM:-}"
if [ -z "$helm" ]; then
  if [ -x "${CARGO_TARGET_DIR:-$root/target}/tools/helm" ]; then
    helm="${CARGO_TARGET_DIR:-$root/target}/tools/helm"
  else
    helm="helm"
  fi
fi
render() {
  echo "# Herald's plain Kubernetes manifests: the Helm chart helm/herald rendered with its default"
  echo "# values (release \"herald\"). Regenerate with deploy/kubernetes/render.sh; do not edit."
  echo "# Before applying: create the Secret \"herald\" (deploy/README.md) and push the image."
  "$helm" template herald "$root/helm/herald" --skip-tests
}
if [ "${1:-}" = "--stdout" ]; then
  render
else
  render > "$root/deploy/kubernetes/herald.yaml"
  echo "wrote deploy/kubernetes/herald.yaml"
fi
