#!/usr/bin/env bash
# Generates the Python stubs of Braid's public API (braid/v1/*_pb2.py, client_pb2_grpc.py) into
# OUT from the .proto files, with Debian's protoc and grpc_python_plugin (scripts/install-python.sh
# installs them). Generated code is never committed: run this before braid_client.py.
#   ./generate.sh OUT [PROTO_ROOT]     (PROTO_ROOT: the folder holding braid/v1/, default ../../proto)
set -euo pipefail
out=${1:?usage: generate.sh OUT [PROTO_ROOT]}
root=${2:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../../proto" && pwd)"}
plugin=$(command -v grpc_python_plugin) || { echo "generate.sh: grpc_python_plugin not found (Debian: protobuf-compiler-grpc)" >&2; exit 1; }
command -v protoc >/dev/null || { echo "generate.sh: protoc not found (Debian: protobuf-compiler)" >&2; exit 1; }
mkdir -p "$out"
protoc -I "$root" --python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  "$root/braid/v1/client.proto" "$root/braid/v1/filter.proto" "$root/braid/v1/records.proto"
echo "$out"
