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
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
