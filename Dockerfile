# One image for every Carepath service; the command picks the service:
#   docker run carepath serve placement --host 0.0.0.0 --port 8003
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY carepath ./carepath
COPY contracts ./contracts
COPY services ./services
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /app carepath
WORKDIR /app
COPY --from=build /install /usr/local
COPY config ./config
ENV CAREPATH_CONFIG_DIR=/app/config CAREPATH_VAR_DIR=/tmp/carepath PYTHONUNBUFFERED=1
USER carepath
ENTRYPOINT ["carepath"]
CMD ["serve", "journey", "--host", "0.0.0.0", "--port", "8000"]
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:'+os.environ.get('PORT','8000')+'/healthz')"
