# One image for every Weft process: the gateway (default) or an ioserver (see compose.yaml). It runs the compiled
# JavaScript (npm run build), not tsx: ~15-20 MiB less RSS per process (ioserver/src/spawn.ts, compiledEntry).
FROM node:20-bookworm-slim AS build
WORKDIR /weft
COPY package.json package-lock.json ./
# patch-package (postinstall) applies patches/ to node_modules: a postgres.js queue fix, see patches/README.md.
COPY patches ./patches
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && \
    npm ci --strict-allow-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY cluster ./cluster
COPY gateway ./gateway
COPY ioserver ./ioserver
COPY meta ./meta
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /weft
COPY --from=build /weft/package.json /weft/package-lock.json ./
COPY --from=build /weft/node_modules ./node_modules
COPY --from=build /weft/dist ./dist
ENV NODE_ENV=production
# Fewer page faults and full GCs per byte: see MALLOC_TUNABLES and NODE_FLAGS in ioserver/src/spawn.ts.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=33554432:glibc.malloc.arena_max=2
CMD ["node", "--initial-old-space-size=64", "--max-semi-space-size=8", "dist/gateway/src/main.js"]
