# syntax=docker/dockerfile:1
# Multi-stage build of the warest gateway. The runtime image holds only the binary.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
# The sandbox crate is a workspace member, so its manifest must be present; it is never
# built here (`-p warest`): building it would turn off WhatsApp's certificate checks.
COPY sandbox ./sandbox
RUN mkdir src benches && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && echo 'fn main() {}' > benches/idle_sessions.rs \
    && mkdir -p migrations/sqlite migrations/postgres \
    && (cargo build --release --locked -p warest || true)
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
COPY openapi ./openapi
RUN touch src/main.rs src/lib.rs && cargo build --release --locked -p warest --bin warest

FROM debian:bookworm-slim
# ffmpeg: voice notes (Opus/Ogg) and GIFs (MP4) are converted with it when a send is accepted.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 warest \
    && useradd --system --uid 10001 --gid warest --home-dir /app --shell /usr/sbin/nologin warest \
    && mkdir -p /app/data && chown -R warest:warest /app
COPY --from=build /src/target/release/warest /usr/local/bin/warest
WORKDIR /app
USER warest
ENV WAREST_HOST=0.0.0.0 \
    PORT=7308 \
    WAREST_DATA_DIR=/app/data \
    LOG_PRETTY=false
VOLUME ["/app/data"]
EXPOSE 7308
# The binary probes /api/v1/server/healthz itself: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["warest", "healthcheck"]
ENTRYPOINT ["warest"]
CMD ["serve"]
