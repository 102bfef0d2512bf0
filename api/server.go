package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/guild-net/guild/msg"
)

// Backend is what the API serves; package node implements it. Methods return *Error
// for anything a client should branch on.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Peers(ctx context.Context) ([]Peer, error)
	Heads(ctx context.Context) ([]AuthorHeads, error)
	// Epochs lists computed epochs from..to inclusive (clamped to what is computed).
	Epochs(ctx context.Context, from, to uint64) ([]Epoch, error)
	// Epoch gives one computed epoch with its batch ids and no-effect reports.
	Epoch(ctx context.Context, k uint64) (Epoch, error)
	// StateRoot gives the root after epoch k, or after the newest computed epoch.
	StateRoot(ctx context.Context, k *uint64) (StateRoot, error)
	// Submit stores a client-signed envelope durably, then publishes it.
	Submit(ctx context.Context, raw []byte) (SubmitResult, error)
	// Publish signs a payload on the node's own chain, stores it durably, publishes it.
	Publish(ctx context.Context, p Publish) (SubmitResult, error)
	Blob(ctx context.Context, id msg.ID) ([]byte, error)
	PutBlob(ctx context.Context, content []byte) (msg.ID, error)
	Account(ctx context.Context, a msg.Account) (Account, error)
	// AccountHistory gives the account's balances after each computed epoch from..to
	// inclusive (clamped to what is computed).
	AccountHistory(ctx context.Context, a msg.Account, from, to uint64) ([]AccountEpoch, error)
	Params(ctx context.Context) ([]Param, error)
	Post(ctx context.Context, id msg.ID) (Post, error)
	Pool(ctx context.Context, id msg.ID) (Pool, error)
	Check(ctx context.Context, c Check) (CheckResult, error)
}

// Limits of request bodies.
const (
	MaxEnvelopeBody = 1 << 20  // an envelope is at most envelope_max_bytes (≤ 2 MiB by WIRE §7)
	MaxBlobBody     = 64 << 20 // SPEC §5
	maxJSONBody     = 2 << 20
)

// Server serves the API for one backend.
type Server struct {
	b   Backend
	log *slog.Logger
	mux *http.ServeMux
	srv *http.Server
}

// NewServer builds the handler. gatherer, when not nil, is served on /metrics.
func NewServer(b Backend, gatherer prometheus.Gatherer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{b: b, log: log, mux: http.NewServeMux()}
	m := s.mux
	m.HandleFunc("GET /v1/status", s.status)
	m.HandleFunc("GET /v1/peers", s.peers)
	m.HandleFunc("GET /v1/heads", s.heads)
	m.HandleFunc("GET /v1/epochs", s.epochs)
	m.HandleFunc("GET /v1/epochs/{k}", s.epoch)
	m.HandleFunc("GET /v1/state/root", s.root)
	m.HandleFunc("POST /v1/envelopes", s.submit)
	m.HandleFunc("POST /v1/publish", s.publish)
	m.HandleFunc("GET /v1/blobs/{id}", s.blob)
	m.HandleFunc("PUT /v1/blobs", s.putBlob)
	m.HandleFunc("POST /v1/blobs", s.putBlob)
	m.HandleFunc("GET /v1/accounts/{account}", s.account)
	m.HandleFunc("GET /v1/accounts/{account}/history", s.accountHistory)
	m.HandleFunc("GET /v1/params", s.params)
	m.HandleFunc("GET /v1/posts/{id}", s.post)
	m.HandleFunc("GET /v1/pools/{id}", s.pool)
	m.HandleFunc("POST /v1/check", s.check)
	if gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, NotFound("no endpoint %s %s (see docs/operations.md)", r.Method, r.URL.Path))
	})
	return s
}

// Handler gives the http.Handler (tests use it with httptest).
func (s *Server) Handler() http.Handler { return s.mux }

// ErrNotLoopback refuses to serve the API on a non-loopback address: it has no
// authentication, and POST /v1/publish signs with the node's key.
var ErrNotLoopback = errors.New("api: refusing a non-loopback listen address (the API has no authentication)")

// Listen binds addr, which must be a loopback address ("127.0.0.1:7420").
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%w: %s", ErrNotLoopback, addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api listen %s: %w", addr, err)
	}
	return l, nil
}

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for the running ones.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 {
		s.log.Warn("api error", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", e.Message)
	}
	s.reply(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, v)
}

func badRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeBadRequest, format, args...)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Status(r.Context())
	s.answer(w, r, v, err)
}

func (s *Server) peers(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Peers(r.Context())
	s.answer(w, r, v, err)
}

func (s *Server) heads(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Heads(r.Context())
	s.answer(w, r, v, err)
}

// maxEpochList bounds one GET /v1/epochs answer.
const maxEpochList = 1000

// epochRange reads ?from=&to= for the list endpoints: by default the newest 20
// computed epochs, at most maxEpochList. ok is false when an error was sent or no
// epoch is computed yet (then an empty list was sent).
func (s *Server) epochRange(w http.ResponseWriter, r *http.Request) (from, to uint64, ok bool) {
	q := r.URL.Query()
	st, err := s.b.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return 0, 0, false
	}
	if st.Computed == nil {
		s.reply(w, http.StatusOK, []struct{}{})
		return 0, 0, false
	}
	to = *st.Computed
	if v := q.Get("to"); v != "" {
		if to, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.fail(w, r, badRequest("to=%q is not an epoch number", v))
			return 0, 0, false
		}
	}
	if to >= 19 {
		from = to - 19
	}
	if v := q.Get("from"); v != "" {
		if from, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.fail(w, r, badRequest("from=%q is not an epoch number", v))
			return 0, 0, false
		}
	}
	if from > to {
		s.fail(w, r, badRequest("from %d > to %d", from, to))
		return 0, 0, false
	}
	if to-from >= maxEpochList {
		s.fail(w, r, badRequest("at most %d epochs per request", maxEpochList))
		return 0, 0, false
	}
	return from, to, true
}

func (s *Server) epochs(w http.ResponseWriter, r *http.Request) {
	from, to, ok := s.epochRange(w, r)
	if !ok {
		return
	}
	v, err := s.b.Epochs(r.Context(), from, to)
	s.answer(w, r, v, err)
}

func (s *Server) epoch(w http.ResponseWriter, r *http.Request) {
	k, err := strconv.ParseUint(r.PathValue("k"), 10, 64)
	if err != nil {
		s.fail(w, r, badRequest("%q is not an epoch number", r.PathValue("k")))
		return
	}
	v, err := s.b.Epoch(r.Context(), k)
	s.answer(w, r, v, err)
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	var k *uint64
	if v := r.URL.Query().Get("epoch"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.fail(w, r, badRequest("epoch=%q is not an epoch number", v))
			return
		}
		k = &n
	}
	v, err := s.b.StateRoot(r.Context(), k)
	s.answer(w, r, v, err)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("read body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, Errorf(http.StatusRequestEntityTooLarge, CodeBadRequest, "body larger than %d bytes", limit)
	}
	return b, nil
}

func readJSON(r *http.Request, v any) error {
	b, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("JSON body: %v", err)
	}
	return nil
}

// submit takes the raw envelope bytes (Content-Type application/cbor or
// application/octet-stream).
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r, MaxEnvelopeBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b) == 0 {
		s.fail(w, r, badRequest("empty body: send the envelope's bytes"))
		return
	}
	v, err := s.b.Submit(r.Context(), b)
	s.answer(w, r, v, err)
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	var p Publish
	if err := readJSON(r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.b.Publish(r.Context(), p)
	s.answer(w, r, v, err)
}

func parseID(s string) (msg.ID, error) {
	id, err := msg.ParseID(s)
	if err != nil {
		return id, badRequest("%q is not a 64-hex-digit id", s)
	}
	return id, nil
}

func (s *Server) blob(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.b.Blob(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r, MaxBlobBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.b.PutBlob(r.Context(), b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, BlobPut{ID: id.String(), Size: len(b)})
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	a, err := msg.ParseAccount(r.PathValue("account"))
	if err != nil {
		s.fail(w, r, badRequest("%q is not an account (a 12D3KooW… peer id): %v", r.PathValue("account"), err))
		return
	}
	v, err := s.b.Account(r.Context(), a)
	s.answer(w, r, v, err)
}

// accountHistory serves ?from=&to= like /v1/epochs.
func (s *Server) accountHistory(w http.ResponseWriter, r *http.Request) {
	a, err := msg.ParseAccount(r.PathValue("account"))
	if err != nil {
		s.fail(w, r, badRequest("%q is not an account (a 12D3KooW… peer id): %v", r.PathValue("account"), err))
		return
	}
	from, to, ok := s.epochRange(w, r)
	if !ok {
		return
	}
	v, err := s.b.AccountHistory(r.Context(), a, from, to)
	s.answer(w, r, v, err)
}

func (s *Server) params(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Params(r.Context())
	s.answer(w, r, v, err)
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.b.Post(r.Context(), id)
	s.answer(w, r, v, err)
}

func (s *Server) pool(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.b.Pool(r.Context(), id)
	s.answer(w, r, v, err)
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var c Check
	if err := readJSON(r, &c); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.b.Check(r.Context(), c)
	s.answer(w, r, v, err)
}
