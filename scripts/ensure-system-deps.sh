#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests drive (the real registry, the real
# clients, openssl for test certificates, an ACME server, a Docker engine, a browser) when any is missing. Needs root for apt-get.
set -euo pipefail
# Extra "command:package" pairs may be given as arguments (the benchmark adds nginx, wrk).
need=()
# pebble (ACME tests), dockerd (image and daemon.json tests; `docker` on PATH may be another
# client, so the daemon is what is checked), chromium (status page tests).
for pair in docker-registry:docker-registry skopeo:skopeo podman:podman containerd:containerd ctr:containerd openssl:openssl \
  pebble:pebble pebble-challtestsrv:pebble dockerd:docker.io chromium:chromium shellcheck:shellcheck "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
