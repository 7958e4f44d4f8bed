# rc-conformance in a container: runs `rc-conformance run` and writes its reports to /reports (mount it).
#   docker build -t rc-conformance .
#   docker run --rm -v "$PWD/reports:/reports" rc-conformance                       # embedded reference server
#   docker run --rm -v "$PWD/reports:/reports" -e RCC_ADMIN_USER -e RCC_ADMIN_PASSWORD \
#     rc-conformance rc-conformance run --url https://chat.example.com           # a live server
# Exit code: 0 conformant, 1 non-conformant, 2 could not judge. Secrets only via -e (never build args).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RCC_REPORT_DIR=/reports \
    XDG_CACHE_HOME=/tmp/cache \
    RCC_STATE_DIR=/reports/.state

WORKDIR /opt/rc-conformance
# One package holds the spec, the catalogue, the suite and the reference server: a plain install.
COPY pyproject.toml README.md ./
COPY rc_e2e_conformance ./rc_e2e_conformance
RUN pip install . \
 && rm -rf /opt/rc-conformance/build \
 && useradd --create-home --uid 10001 rcc \
 && mkdir -p /reports && chown rcc /reports
USER rcc
VOLUME ["/reports"]
# No ENTRYPOINT: `docker run IMAGE rc-conformance run --url …` reads like the README's command.
CMD ["rc-conformance", "run"]
