# Tracehouse tasks. `make help` lists them.
.PHONY: help install start test bench up down logs migrate kafka-jars

help:            ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install:         ## npm dependencies and the TypeScript build
	npm install

start: install   ## the pipeline on this machine (embedded ClickHouse; direct path unless KAFKA_BROKERS)
	npm start

test:            ## the test suite (starts a real Kafka broker from Maven Central jars)
	npm test

bench:           ## the benchmark table
	npm run bench

kafka-jars:      ## fetch the pinned Kafka broker jars into .kafka/lib
	bash scripts/kafka/fetch.sh

up:              ## full stack with docker compose (Kafka, ClickHouse, receiver, consumer, Grafana)
	docker compose up -d --build

down:            ## stop the stack
	docker compose down

logs:            ## follow the stack's logs
	docker compose logs -f --tail=100

migrate:         ## apply clickhouse-init.sql (CLICKHOUSE_URL, or the embedded data dir)
	node dist/services/cli.js migrate
