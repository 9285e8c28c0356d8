#!/usr/bin/env bash
# The OpenTelemetry Collector the bench measures Tracehouse against (`npm run bench -- --peers`),
# built from Go modules with the Collector Builder into .peers/otelcol/: otlpreceiver,
# kafkareceiver, batchprocessor, kafkaexporter and clickhouseexporter at v0.155.0, the newest
# release whose whole module graph the proxy serves. The builder only writes the sources
# (--skip-compilation); `go mod tidy -e` then settles the graph and `go build` compiles it.
# Idempotent: prints the binary's path and does nothing more when it is already built.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=0.155.0
DIR="$PWD/.peers/otelcol"
BIN="$DIR/otelcol-peer"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then echo "$BIN"; exit 0; fi
mkdir -p "$DIR"
export GOBIN="$DIR/bin" GOFLAGS=-buildvcs=false
echo "otelcol: installing the Collector Builder v$VERSION" >&2
go install "go.opentelemetry.io/collector/cmd/builder@v$VERSION" >&2
cat >"$DIR/builder.yaml" <<EOF
dist:
  name: otelcol-peer
  description: OpenTelemetry Collector for the Tracehouse bench
  version: $VERSION
  output_path: $DIR/src
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver v$VERSION
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor v$VERSION
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter v$VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter v$VERSION
EOF
echo "otelcol: generating the sources" >&2
"$GOBIN/builder" --config "$DIR/builder.yaml" --skip-compilation >&2
cd "$DIR/src"
echo "otelcol: resolving modules (go mod tidy -e)" >&2
go mod tidy -e >&2
echo "otelcol: compiling (a few minutes on 2 cores)" >&2
go build -trimpath -ldflags='-s -w' -o "$BIN" . >&2
"$BIN" --version >&2
echo "$BIN"
