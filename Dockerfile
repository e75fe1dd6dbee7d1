# Docxy container image, built from the repository root:
#   docker build -t docxy .
# NODE_IMAGE swaps the base (any Debian-style Node 20 image with /bin/sh, npm and a `node`
# user, uid 1000); the tests build on a local one because Docker Hub is out of their reach.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile, then keep production dependencies only ----------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
RUN npm install --global --no-fund --no-audit --no-update-notifier pnpm@12.4.2
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/proxy-core/package.json packages/proxy-core/
COPY apps/proxy/package.json apps/proxy/
COPY infra/package.json infra/
RUN pnpm install --frozen-lockfile --filter "@docxy/proxy..."
COPY tsconfig.base.json ./
COPY packages/proxy-core packages/proxy-core
COPY apps/proxy apps/proxy
# Compile in dependency order, then reinstall from the store already filled (--offline: no
# network) without devDependencies.
RUN pnpm --filter "@docxy/proxy..." run build \
 && rm -rf node_modules packages/proxy-core/node_modules apps/proxy/node_modules \
 && pnpm install --frozen-lockfile --offline --prod --filter "@docxy/proxy..."

# ---- runtime: compiled code and production dependencies, as the unprivileged `node` ----
FROM ${NODE_IMAGE}
# The cache goes to the volume. (No DOCXY_LISTEN here: it would override a config file's listen.)
ENV NODE_ENV=production \
    DOCXY_DATA_DIR=/data
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/packages/proxy-core/package.json packages/proxy-core/
COPY --from=build /src/packages/proxy-core/dist packages/proxy-core/dist
COPY --from=build /src/packages/proxy-core/node_modules packages/proxy-core/node_modules
COPY --from=build /src/apps/proxy/package.json apps/proxy/
COPY --from=build /src/apps/proxy/dist apps/proxy/dist
COPY --from=build /src/apps/proxy/node_modules apps/proxy/node_modules
# The cache lives on a volume; a new named volume takes this directory's owner (node).
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# 5000: the default listen address (HTTP); 8443: HTTPS as compose.yaml configures it.
EXPOSE 5000 8443
# /healthz on the configured listen address, HTTP or HTTPS (exec form: no shell at run time).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/apps/proxy/dist/main.js", "healthcheck"]
# node is PID 1 and gets docker stop's SIGTERM itself: it drains in-flight downloads
# (server.drainTimeoutMs) before exiting. `docker run docxy check-config` etc. also work.
ENTRYPOINT ["node", "/app/apps/proxy/dist/main.js"]
CMD ["serve"]
