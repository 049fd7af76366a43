# Dr.DeepChest app image (CPU only): one replica per container, `GET /healthz` for the proxy.
#   docker build -t drdeepchest .
#   docker run -p 8501:8501 -v drdc-data:/data drdeepchest           # one replica, local files (SQLite)
#   docker compose up                                                 # two replicas, nginx, PostgreSQL
# Not built on the project's build machines (no Docker daemon there); the same steps run in .ci/run
# without a container. See docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DRDC_DATA_DIR=/data DRDC_WEIGHTS_DIR=/models
# libpq5: the PostgreSQL client library that psycopg uses (DRDC_DB_URL)
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-postgres.txt constraints.txt ./
# the CPU build of the pinned torch (about 0.2 GB instead of the 5.5 GB CUDA build)
RUN pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -r requirements.txt -r requirements-postgres.txt -c constraints.txt

COPY . .
RUN useradd --create-home --uid 10001 drdc && mkdir -p /data /models && chown drdc /data /models
USER drdc

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/healthz', timeout=4).status != 200)"]
CMD ["streamlit", "run", "serve.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.fileWatcherType", "none"]
