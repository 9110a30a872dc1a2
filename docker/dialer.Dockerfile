# The dialer service: engine, web UI/API and FastAGI in one process.
FROM python:3.11-slim-bookworm

WORKDIR /app
COPY pyproject.toml README.md alembic.ini config.yaml ./
COPY dialer/ dialer/
COPY migrations/ migrations/
COPY agi_scripts/ agi_scripts/
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home /app dialer \
 && mkdir -p /app/data && chown dialer /app/data

USER 10001
EXPOSE 8080/tcp 4573/tcp
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
CMD ["dialer", "serve"]
