# Receiver and consumer image. The local ClickHouse server's engine (@chdb/lib-linux-x64-gnu,
# optional) is left out: in the stack the services talk HTTP to the ClickHouse server.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --omit=optional --no-audit --no-fund
# Only the services are compiled: the image runs nothing else.
COPY services ./services
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/services ./dist/services
COPY clickhouse-init.sql otel-collector.yaml ./
USER node
EXPOSE 4318 4317 8888
ENTRYPOINT ["node", "dist/services/cli.js"]
CMD ["receiver"]
