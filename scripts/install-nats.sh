#!/usr/bin/env bash
# Installs nats-server (Debian's package) for `braid bench compare`, when it is missing.
# Needs root (apt-get). Prints the path of nats-server on success.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1; then
  command -v nats-server
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-nats: nats-server is not installed and this is not root;" >&2
  echo "install-nats: run as root: apt-get update && apt-get install -y nats-server" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-nats: no apt-get here: install nats-server (2.9 or later) yourself and put it on PATH" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq nats-server >&2
# The Debian package also enables a system service; the benchmark runs its own processes only.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nats-server 2>/dev/null; then
  systemctl stop nats-server >&2 || true
fi
command -v nats-server
