# Build stage: compile wheels for the hub and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY dispatch ./dispatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Run stage: the hub as a non-root user, serving on port 8000.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 dispatch
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY migrations ./migrations
COPY static ./static
COPY alembic.ini ./
ENV DISPATCH_ENVIRONMENT=production \
    DISPATCH_MIGRATIONS_DIR=/app/migrations \
    DISPATCH_STATIC_DIR=/app/static \
    PYTHONUNBUFFERED=1
USER dispatch
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["dispatch", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
