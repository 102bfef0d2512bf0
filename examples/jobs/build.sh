#!/bin/sh
# Rebuilds the example jobs' committed .wasm files. The bytes depend on the Go
# version (see GO_VERSION); the golden outcome hashes depend on the bytes.
set -eu
cd "$(dirname "$0")"
for job in jsonnorm hashpipe wordcount; do
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -o "$job/$job.wasm" "./$job"
done
go version | awk '{print $3}' > GO_VERSION
