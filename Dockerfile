# syntax=docker/dockerfile:1
# Hypertube node image: `docker build -t hypertube .`; deploy/compose.yaml runs several behind Traefik.

# --- builder: wheels for every dependency, and the npm assets the pages load ---------------------
FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends make nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY hypertube ./hypertube
# The app runs from its source tree (it finds templates/, static/ and locales/ beside the package),
# so only the dependencies are installed as wheels.
RUN pip wheel --no-cache-dir --wheel-dir /wheels . && rm /wheels/hypertube-*.whl
COPY Makefile package.json package-lock.json ./
COPY static ./static
RUN make static && rm -rf node_modules

# --- runtime: slim, no compilers, no node; PyAV's wheel carries its own FFmpeg ----------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    HYPERTUBE_DATA_DIR=/data
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home hypertube \
 && mkdir -p /data && chown hypertube:hypertube /data
WORKDIR /app
COPY hypertube ./hypertube
COPY templates ./templates
COPY locales ./locales
COPY --from=builder /src/static ./static
USER hypertube
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["python", "-m", "hypertube", "serve", "--host", "0.0.0.0", "--port", "8000"]
