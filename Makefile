# Tracehouse tasks. `make help` lists them.
.PHONY: help install start test bench up down logs up-local down-local status-local logs-local migrate backfill demo kafka-jars kafka-native validate-stack

help:            ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install:         ## npm dependencies and the TypeScript build
	npm install

start: install   ## the pipeline on this machine (local ClickHouse server; direct path unless KAFKA_BROKERS)
	npm start

test:            ## the test suite (starts a real Kafka broker from Maven Central jars)
	npm test

bench:           ## the benchmark table
	npm run bench

kafka-jars:      ## fetch the pinned Kafka broker jars into .kafka/lib
	bash scripts/kafka/fetch.sh

kafka-native:    ## build the optional librdkafka producer client (KAFKA_PRODUCER_CLIENT=librdkafka)
	bash scripts/kafka/native-client.sh

up:              ## full stack with docker compose (Kafka, ClickHouse, receiver, consumer, Grafana)
	docker compose up -d --build

down:            ## stop the stack
	docker compose down

logs:            ## follow the stack's logs
	docker compose logs -f --tail=100

up-local: install ## the same stack without Docker: broker, ClickHouse server, receiver, consumer as local processes
	node dist/services/cli.js stack up

down-local:      ## stop the local stack (SIGTERM: each drains and commits)
	node dist/services/cli.js stack down

status-local:    ## the local stack's status table
	node dist/services/cli.js stack status

logs-local:      ## follow the local stack's logs
	node dist/services/cli.js stack logs --follow

migrate:         ## apply clickhouse-init.sql (CLICKHOUSE_URL, or the local server of the data dir)
	node dist/services/cli.js migrate

FROM ?= $(shell date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)
backfill:        ## rebuild rollups since FROM (default: 1 hour ago); REPLAY=1 first re-stores what Kafka has
	$(if $(REPLAY),node dist/services/cli.js backfill replay --from $(FROM) &&) node dist/services/cli.js backfill rollups --from $(FROM)

RATE ?= 5
DURATION ?= 60
demo:            ## send RATE agent runs/s for DURATION s of realistic traffic to localhost:4318
	node dist/services/cli.js demo --rate $(RATE) --duration $(DURATION)

validate-stack:  ## validate docker-compose.yml and Dockerfile offline (compose-go, BuildKit)
	cd scripts/validate && go run . ../..
