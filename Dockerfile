# The ledger's API image: Python 3.11 with the locked dependencies.
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
RUN uv pip install --system --no-cache --no-deps -e .
ENV LEDGER_HOST=0.0.0.0 LEDGER_PORT=8000
EXPOSE 8000
CMD ["patent-ledger", "serve"]
