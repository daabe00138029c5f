# The newsdedup service: a slim image with the model inside (it ships in a Python package),
# running as a non-root user. Build: docker build -t newsdedup .
# PyPI's default torch wheel for Linux carries CUDA libraries; pass the index of CPU-only
# wheels as TORCH_INDEX_URL for a much smaller image.
FROM python:3.11-slim AS build
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml requirements.lock README.md ./
COPY service ./service
COPY index ./index
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        /opt/venv/bin/pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
    fi \
    && /opt/venv/bin/pip install -c requirements.lock .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    NEWSDEDUP_HOST=0.0.0.0 \
    NEWSDEDUP_PORT=8000 \
    NEWSDEDUP_DATA_DIR=/data
RUN groupadd --system --gid 10001 newsdedup \
    && useradd --system --uid 10001 --gid newsdedup --home-dir /data --no-create-home newsdedup \
    && mkdir /data && chown newsdedup:newsdedup /data
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["newsdedup", "serve"]
