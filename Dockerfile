# backdrop's service image: the package as `npm pack` makes it, installed globally on Debian with
# Debian's ffmpeg. One image for the API (`serve`) and the workers (`worker`); see docker-compose.yml.

# Stage 1: build dist/ and pack it, exactly as a user installing from a checkout does.
FROM node:20-bookworm-slim AS pack
WORKDIR /src
COPY package.json package-lock.json ./
# onnxruntime-node's install script would download CUDA libraries backdrop does not use.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --silent && mv selfie-backdrop-*.tgz /selfie-backdrop.tgz

# Stage 2: only the installed package, ffmpeg and a data folder.
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
COPY --from=pack /selfie-backdrop.tgz /tmp/selfie-backdrop.tgz
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm install -g --no-audit --no-fund /tmp/selfie-backdrop.tgz && rm /tmp/selfie-backdrop.tgz \
  && mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
# `backdrop doctor` fails when the runtime, ffmpeg or the models are missing: a broken image fails its build.
RUN backdrop doctor
ENTRYPOINT ["backdrop"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data", "/data"]
