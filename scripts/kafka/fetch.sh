#!/usr/bin/env bash
# Fetches the pinned Apache Kafka broker jars from Maven Central into .kafka/lib (git-ignored).
# Reuses them when the stamp matches the pom, so repeated runs cost nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="${TRACEHOUSE_KAFKA_HOME:-$root/.kafka}/lib"
stamp="$lib/.pom.sha256"
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$lib"/kafka_2.13-*.jar >/dev/null 2>&1; then
  echo "kafka jars: present in $lib"
  exit 0
fi
command -v java >/dev/null || { echo "kafka jars: java 17+ is required (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kafka jars: maven is required (apt-get install -y maven)" >&2; exit 1; }
rm -rf "$lib" && mkdir -p "$lib"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -Dkafka.lib.dir="$lib"
echo "$want" > "$stamp"
echo "kafka jars: $(ls "$lib" | wc -l) jars in $lib"
