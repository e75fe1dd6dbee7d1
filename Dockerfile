# Docxy container image (built from apps/proxy). No Docker engine runs on the development
# machines, so this file is written and reviewed, not built, in CI.
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@12.4.2
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json jest.shared.js ./
COPY packages/proxy-core/package.json packages/proxy-core/
COPY apps/proxy/package.json apps/proxy/
COPY infra/package.json infra/
RUN pnpm install --frozen-lockfile --filter @docxy/proxy...
COPY packages/proxy-core packages/proxy-core
COPY apps/proxy apps/proxy
RUN pnpm exec turbo run build --filter=@docxy/proxy \
 && pnpm install --frozen-lockfile --prod --filter @docxy/proxy...

FROM node:20-bookworm-slim
ENV NODE_ENV=production DOCXY_LISTEN=0.0.0.0:5000 DOCXY_DATA_DIR=/data
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/packages/proxy-core/package.json packages/proxy-core/
COPY --from=build /src/packages/proxy-core/dist packages/proxy-core/dist
COPY --from=build /src/packages/proxy-core/node_modules packages/proxy-core/node_modules
COPY --from=build /src/apps/proxy/package.json apps/proxy/
COPY --from=build /src/apps/proxy/dist apps/proxy/dist
COPY --from=build /src/apps/proxy/node_modules apps/proxy/node_modules
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:5000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "apps/proxy/dist/main.js"]
