# syntax=docker/dockerfile:1
#
# Gatehouse container image: a static binary on a distroless base, running as a non-root user.
#
#   docker build -t gatehouse .
#   docker run --read-only -p 8080:8080 -v gatehouse-data:/data gatehouse
#
# See docs/deploy.md for the environment it needs in production (GATEHOUSE_ISSUER,
# GATEHOUSE_DATABASE_URL, GATEHOUSE_KEK, GATEHOUSE_ADMIN_KEY, ...).

# ---- build ------------------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first, so that editing the source does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# CGO_ENABLED=0: the SQLite driver is pure Go, so the binary is fully static.
# -trimpath: no build-machine paths in the binary (reproducible, nothing leaked).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/gatehouse ./cmd/gatehouse \
 && mkdir -p /out/data

# ---- run --------------------------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd with the "nonroot" user
# (65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
# The data directory: the SQLite database and the key-encryption key file (with PostgreSQL
# and GATEHOUSE_KEK set, nothing is written there). It is the only path Gatehouse writes, so
# the container can run with a read-only root file system.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]

USER 65532:65532
ENV GATEHOUSE_ADDR=":8080" \
    GATEHOUSE_DATA_DIR="/data"
EXPOSE 8080

# Health: the image has no shell or HTTP client, and gatehouse has no health subcommand yet,
# so no HEALTHCHECK instruction can run inside it. Let the orchestrator or load balancer probe
# over HTTP instead: GET /readyz (200 when the store answers, else 503) for readiness and
# GET /healthz for liveness. deploy/compose.yaml has Caddy do exactly that.

ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
