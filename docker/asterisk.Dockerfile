# Asterisk 22 from Debian's packages with the project's asterisk_conf/ -- the same packages and files the
# sandbox (dialer sandbox up) runs in its sid chroot. Site secrets are mounted, never baked in.

# The classic AGI script's bundle (ivr.py + the stdlib-only IVR modules, pyst2, six), as `dialer ivr
# bundle` writes it for the sandbox.
FROM python:3.11-slim-bookworm AS ivr-bundle
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dialer/ dialer/
COPY agi_scripts/ agi_scripts/
RUN pip install --no-cache-dir . && python -m dialer ivr bundle /bundle

FROM debian:sid-slim

# sid moves daily: only the Asterisk major version is pinned, the rest follows the distribution
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      asterisk=1:22.* asterisk-modules=1:22.* asterisk-core-sounds-ru asterisk-core-sounds-en \
      python3 python3-sqlalchemy python3-psycopg2 \
 && rm -rf /var/lib/apt/lists/*

COPY asterisk_conf/*.conf /etc/asterisk/
COPY asterisk_conf/sounds/ /usr/share/asterisk/sounds/
COPY --from=ivr-bundle /bundle/ /usr/share/asterisk/agi-bin/
# the site's database URL for the script: mount dialer-ivr.conf (mode 600) into /usr/share/asterisk/agi-bin/

EXPOSE 5060/udp 5038/tcp
HEALTHCHECK --interval=30s --timeout=5s CMD ["asterisk", "-rx", "core show uptime"]
CMD ["asterisk", "-f", "-U", "asterisk", "-G", "asterisk"]
