#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript (librdkafka), the receiver's producer client by default.
# It is an optional dependency: `npm install` fetches its prebuilt binary from GitHub where it can,
# and leaves it out when it cannot (as on a machine that reaches only the package registries). Then
# this builds librdkafka from the bundled source (~80 s on 2 cores), linked to the system's libraries
# (the static build downloads its own), which needs libzstd-dev. Idempotent: does nothing when it loads.
set -euo pipefail
cd "$(dirname "$0")/../.."
PKG=@confluentinc/kafka-javascript
VERSION=$(node -p "require('./package.json').optionalDependencies['$PKG']")
if node -e "require('$PKG')" >/dev/null 2>&1; then exit 0; fi
if ! dpkg -s libzstd-dev >/dev/null 2>&1; then
  echo "native-client: installing libzstd-dev" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzstd-dev
fi
echo "native-client: building $PKG@$VERSION (librdkafka from source)" >&2
# package.json's allowScripts lets npm 11 run its install script; --no-save leaves package.json and the lockfile as committed.
CKJS_LINKING=dynamic npm install --no-save --no-audit --no-fund "$PKG@$VERSION" >&2
node -e "require('$PKG')"
