# One image for every Weft process: the gateway (default) or an ioserver (see compose.yaml).
FROM node:20-bookworm-slim
WORKDIR /weft
COPY package.json package-lock.json ./
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && \
    npm ci --strict-allow-scripts --omit=dev && \
    apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY tsconfig.json ./
COPY gateway ./gateway
COPY ioserver ./ioserver
COPY meta ./meta
ENV NODE_ENV=production
# Fewer page faults and full GCs per byte: see MALLOC_TUNABLES and NODE_FLAGS in ioserver/src/spawn.ts.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=33554432:glibc.malloc.arena_max=2
CMD ["node", "--initial-old-space-size=64", "--max-semi-space-size=2", "--import", "tsx", "gateway/src/main.ts"]
