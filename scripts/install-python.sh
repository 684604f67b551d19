#!/usr/bin/env bash
# Installs what the Python example client (examples/python) and its end-to-end test need, when
# missing: Debian's python3 with grpcio and protobuf, protoc and the gRPC Python plugin.
# Needs root (apt-get). Prints the python3 that can import grpc and google.protobuf on success.
set -euo pipefail
packages=(python3 python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc)

# A python3 that imports both modules: Debian's first (where its packages install), then PATH's.
usable_python() {
  local candidate
  for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
      && "$candidate" -c 'import grpc, google.protobuf' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ready() {
  usable_python >/dev/null && command -v protoc >/dev/null 2>&1 && command -v grpc_python_plugin >/dev/null 2>&1
}

if ready; then
  usable_python
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-python: python3 with grpcio and protobuf, protoc or grpc_python_plugin is missing and this is not root;" >&2
  echo "install-python: run as root: apt-get update && apt-get install -y ${packages[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-python: no apt-get here: install python3 with grpcio and protobuf, protoc and grpc_python_plugin yourself" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
if ! ready; then
  echo "install-python: installed ${packages[*]} but python3 still cannot import grpc and google.protobuf, or protoc/grpc_python_plugin is missing" >&2
  exit 1
fi
usable_python
