#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript (librdkafka) for the receiver's `librdkafka` producer client.
# It is not a dependency: no prebuilt binary is reachable here, so it builds librdkafka from the bundled
# source (~80 s on 2 cores), which needs libzstd-dev. Idempotent: does nothing when it already loads.
set -euo pipefail
cd "$(dirname "$0")/../.."
PKG=@confluentinc/kafka-javascript
VERSION=1.10.1
if node -e "require('$PKG')" >/dev/null 2>&1; then exit 0; fi
if ! dpkg -s libzstd-dev >/dev/null 2>&1; then
  echo "native-client: installing libzstd-dev" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzstd-dev
fi
echo "native-client: building $PKG@$VERSION (librdkafka from source)" >&2
# package.json's allowScripts lets npm 11 run its install script; --no-save keeps it out of the lockfile.
CKJS_LINKING=dynamic npm install --no-save --no-audit --no-fund "$PKG@$VERSION" >&2
node -e "require('$PKG')"
