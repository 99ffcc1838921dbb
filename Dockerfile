# The ledger's API image: Python 3.11 with the locked dependencies, and the console's browser
# assets (issue 20) installed from console/package-lock.json in a Node build stage.

# Stage 1: `npm ci` from the lock file (no install scripts); only the files the ledger serves
# (api/console.py VENDOR) are copied into the final image, not the whole node_modules.
FROM node:20-slim AS console-assets
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
RUN pip install --no-cache-dir uv
COPY requirements.lock pyproject.toml README.md ./
RUN uv pip install --system --no-cache -r requirements.lock
COPY ledger ledger
COPY api api
COPY projections projections
COPY importers importers
COPY demo demo
COPY migrations migrations
COPY config config
# The console: its own files, and the vendored libraries it serves at /console/vendor/ (keep
# this list equal to VENDOR in api/console.py; tests/test_console_api.py checks it).
COPY console/package.json console/package-lock.json console/
COPY console/src console/src
COPY --from=console-assets /console/node_modules/echarts/dist/echarts.min.js console/node_modules/echarts/dist/
COPY --from=console-assets /console/node_modules/react/umd/react.production.min.js console/node_modules/react/umd/
COPY --from=console-assets /console/node_modules/react-dom/umd/react-dom.production.min.js console/node_modules/react-dom/umd/
COPY --from=console-assets /console/node_modules/graphiql/graphiql.min.js console/node_modules/graphiql/
COPY --from=console-assets /console/node_modules/graphiql/graphiql.min.css console/node_modules/graphiql/
COPY --from=console-assets /console/node_modules/swagger-ui-dist/swagger-ui-bundle.js console/node_modules/swagger-ui-dist/
COPY --from=console-assets /console/node_modules/swagger-ui-dist/swagger-ui.css console/node_modules/swagger-ui-dist/
RUN uv pip install --system --no-cache --no-deps -e .
ENV LEDGER_HOST=0.0.0.0 LEDGER_PORT=8000
EXPOSE 8000
CMD ["patent-ledger", "serve"]
