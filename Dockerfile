# The events-server image: a release build with the Swift runtime linked in statically, on a
# Debian 12 (bookworm) slim root with only the C libraries the server loads at run time.
#
#   docker build -t events-server .
#   docker run -p 127.0.0.1:8080:8080 -v events-data:/data \
#     -e EVENTS_USERS_JSON="$(cat users.json)" events-server
#
# The image ships no credentials: give users and API clients with EVENTS_USERS_JSON, with
# EVENTS_USERS_FILE naming a mounted file, or by mounting a Config/ directory that holds a
# users.json. Without any, or with only the demo credentials, the server refuses to start.
# With podman, add --format docker to the build so HEALTHCHECK is kept (OCI images drop it).

# Build stage: the official Swift image. The C libraries' headers are installed when missing.
FROM docker.io/library/swift:6.3-bookworm AS build
RUN missing=""; \
    for package in libsqlite3-dev zlib1g-dev libssl-dev pkg-config; do \
      dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product events-server \
    && install -m 0755 "$(swift build -c release --show-bin-path)/events-server" /usr/local/bin/events-server \
    && strip /usr/local/bin/events-server

# Runtime root: Debian slim plus the shared libraries the binary links (SQLite, zlib, libcrypto
# from libssl3) and CA certificates for webhooks to HTTPS receivers. The server needs no package
# manager, Perl, documentation, locales or iconv modules at run time, so they are removed after
# the install, as are the login and account tools once the user exists. Without them the image
# stays under 120 MB although the static Swift runtime (with its ICU data) makes the binary
# about 60 MB.
FROM docker.io/library/debian:bookworm-slim AS runtime-root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
         libsqlite3-0 zlib1g libssl3 ca-certificates \
    && groupadd --system --gid 10001 events \
    && useradd --system --uid 10001 --gid events --home-dir /app --no-create-home --shell /usr/sbin/nologin events \
    && mkdir -p /app /data \
    && chown events:events /data \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
    && dpkg --purge --force-remove-essential --force-depends \
         apt libapt-pkg6.0 libgnutls30 libp11-kit0 libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 \
         perl-base e2fsprogs libext2fs2 libss2 logsave \
         login passwd util-linux \
    && rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
              /usr/share/perl5 /usr/lib/x86_64-linux-gnu/perl-base /usr/lib/x86_64-linux-gnu/gconv \
              /var/lib/dpkg/info/*.md5sums

# Final image: the runtime root flattened into one layer, so the files removed above do not
# count toward the image size whatever the base image kept.
FROM scratch
COPY --from=runtime-root / /
COPY --from=build /usr/local/bin/events-server /usr/local/bin/events-server
# Server settings and the reference workflows; users.json (the demo credentials) stays out.
COPY Config/server.json /app/Config/server.json
COPY Config/workflows /app/Config/workflows

ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    EVENTS_CONFIG=/app/Config \
    EVENTS_DATA_DIR=/data \
    EVENTS_HOST=0.0.0.0 \
    EVENTS_PORT=8080 \
    EVENTS_REQUIRE_CREDENTIALS=true
WORKDIR /app
USER events
VOLUME ["/data"]
EXPOSE 8080
# healthcheck reads the same EVENTS_* settings, so it follows a changed port.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/events-server", "healthcheck", "--timeout", "4"]
# SIGTERM starts the graceful shutdown: stop accepting, finish in-flight requests and
# executions, close the database. Give it more than shutdownTimeout: docker stop -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/events-server"]
CMD ["serve"]
