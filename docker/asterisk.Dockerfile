# Asterisk 22 from Debian's packages with the project's asterisk_conf/ -- the same packages and files the
# sandbox (dialer sandbox up) runs in its sid chroot. Site secrets are mounted, never baked in.
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
COPY agi_scripts/ /usr/share/asterisk/agi-bin/

EXPOSE 5060/udp 5038/tcp
HEALTHCHECK --interval=30s --timeout=5s CMD ["asterisk", "-rx", "core show uptime"]
CMD ["asterisk", "-f", "-U", "asterisk", "-G", "asterisk"]
