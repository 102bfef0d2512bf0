package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/guild-net/guild/msg"
)

// ErrNotRunning means nothing answers on the API address: the node is not running
// (or listens elsewhere).
var ErrNotRunning = errors.New("no node answers on the API address")

// Client talks to a node's API.
type Client struct {
	Addr string // host:port, e.g. 127.0.0.1:7420
	HTTP *http.Client
}

// NewClient gives a client for addr with a 30 s request timeout.
func NewClient(addr string) *Client {
	return &Client{Addr: addr, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

func (c *Client) url(path string, q url.Values) string {
	u := url.URL{Scheme: "http", Host: c.Addr, Path: path}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || isDialError(err) {
			return fmt.Errorf("%w (%s)", ErrNotRunning, c.Addr)
		}
		return fmt.Errorf("api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("api %s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil {
			e.Error.Status = resp.StatusCode
			return e.Error
		}
		return fmt.Errorf("api %s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("api %s %s: decode reply: %w", method, path, err)
		}
		return nil
	}
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, "", nil, out)
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, nil, "application/json", b, out)
}

// Status calls GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.get(ctx, "/v1/status", nil, &v)
}

// Peers calls GET /v1/peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var v []Peer
	return v, c.get(ctx, "/v1/peers", nil, &v)
}

// Heads calls GET /v1/heads.
func (c *Client) Heads(ctx context.Context) ([]AuthorHeads, error) {
	var v []AuthorHeads
	return v, c.get(ctx, "/v1/heads", nil, &v)
}

// Epochs calls GET /v1/epochs?from=&to=.
func (c *Client) Epochs(ctx context.Context, from, to uint64) ([]Epoch, error) {
	var v []Epoch
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	return v, c.get(ctx, "/v1/epochs", q, &v)
}

// Epoch calls GET /v1/epochs/{k}.
func (c *Client) Epoch(ctx context.Context, k uint64) (Epoch, error) {
	var v Epoch
	return v, c.get(ctx, "/v1/epochs/"+strconv.FormatUint(k, 10), nil, &v)
}

// StateRoot calls GET /v1/state/root (the newest computed epoch when k is nil).
func (c *Client) StateRoot(ctx context.Context, k *uint64) (StateRoot, error) {
	var v StateRoot
	var q url.Values
	if k != nil {
		q = url.Values{"epoch": {strconv.FormatUint(*k, 10)}}
	}
	return v, c.get(ctx, "/v1/state/root", q, &v)
}

// Submit calls POST /v1/envelopes with a signed envelope.
func (c *Client) Submit(ctx context.Context, env []byte) (SubmitResult, error) {
	var v SubmitResult
	return v, c.do(ctx, http.MethodPost, "/v1/envelopes", nil, "application/cbor", env, &v)
}

// Publish calls POST /v1/publish: the node signs p on its own chain.
func (c *Client) Publish(ctx context.Context, p msg.Payload) (SubmitResult, error) {
	b, err := msg.EncodePayload(p)
	if err != nil {
		return SubmitResult{}, err
	}
	var v SubmitResult
	return v, c.postJSON(ctx, "/v1/publish", Publish{Kind: uint64(p.Kind()), Payload: b}, &v)
}

// Blob calls GET /v1/blobs/{id}.
func (c *Client) Blob(ctx context.Context, id msg.ID) ([]byte, error) {
	var b []byte
	return b, c.get(ctx, "/v1/blobs/"+id.String(), nil, &b)
}

// PutBlob calls PUT /v1/blobs.
func (c *Client) PutBlob(ctx context.Context, content []byte) (BlobPut, error) {
	var v BlobPut
	return v, c.do(ctx, http.MethodPut, "/v1/blobs", nil, "application/octet-stream", content, &v)
}

// Account calls GET /v1/accounts/{account}.
func (c *Client) Account(ctx context.Context, a msg.Account) (Account, error) {
	var v Account
	return v, c.get(ctx, "/v1/accounts/"+a.String(), nil, &v)
}

// AccountHistory calls GET /v1/accounts/{account}/history for epochs from..to.
func (c *Client) AccountHistory(ctx context.Context, a msg.Account, from, to uint64) ([]AccountEpoch, error) {
	var v []AccountEpoch
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	return v, c.get(ctx, "/v1/accounts/"+a.String()+"/history", q, &v)
}

// Params calls GET /v1/params.
func (c *Client) Params(ctx context.Context) ([]Param, error) {
	var v []Param
	return v, c.get(ctx, "/v1/params", nil, &v)
}

// Post calls GET /v1/posts/{id}.
func (c *Client) Post(ctx context.Context, id msg.ID) (Post, error) {
	var v Post
	return v, c.get(ctx, "/v1/posts/"+id.String(), nil, &v)
}

// Pool calls GET /v1/pools/{id}.
func (c *Client) Pool(ctx context.Context, id msg.ID) (Pool, error) {
	var v Pool
	return v, c.get(ctx, "/v1/pools/"+id.String(), nil, &v)
}

// Check calls POST /v1/check: would author's payload take effect?
func (c *Client) Check(ctx context.Context, author msg.Account, p msg.Payload) (CheckResult, error) {
	b, err := msg.EncodePayload(p)
	if err != nil {
		return CheckResult{}, err
	}
	var v CheckResult
	return v, c.postJSON(ctx, "/v1/check", Check{Author: author.String(), Kind: uint64(p.Kind()), Payload: b}, &v)
}
