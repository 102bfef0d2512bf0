// Package api is the node's local HTTP JSON API, served on 127.0.0.1 only, and its Go
// client (used by the CLI). The server is a thin shell over a Backend (package node
// implements it): it decodes requests, maps errors to stable JSON error codes, and
// serves Prometheus metrics on /metrics.
//
// Every error response is {"error": {"code": "...", "message": "..."}}; Code values
// are listed in errors.go and never change meaning, so scripts branch on them.
// Endpoints are versioned under /v1 and documented in docs/operations.md.
package api
