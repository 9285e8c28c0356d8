#!/usr/bin/env bash
# The OpenTelemetry Python SDK with its OTLP exporters (gRPC and HTTP), pinned, in .venv-otel/: the
# real peer the tests export from. Idempotent: does nothing when the pinned versions import.
set -euo pipefail
cd "$(dirname "$0")/../.."
OTEL=1.45.2
VENV=.venv-otel
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http; from importlib.metadata import version; assert version('opentelemetry-sdk') == '$OTEL'" >/dev/null 2>&1; then exit 0; fi
echo "python-sdk: installing opentelemetry-sdk $OTEL with its OTLP exporters into $VENV" >&2
python3 -m venv "$VENV"
"$PY" -m pip install --quiet --disable-pip-version-check \
  "opentelemetry-sdk==$OTEL" "opentelemetry-exporter-otlp-proto-grpc==$OTEL" "opentelemetry-exporter-otlp-proto-http==$OTEL" >&2
"$PY" -c "import opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
