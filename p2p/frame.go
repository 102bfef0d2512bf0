package p2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// Frame types of /guild/sync/1.0.0 and /guild/blob/1.0.0 (docs/protocol.md (peer-to-peer)).
const (
	frameDigest byte = 0x01 // sync request: 256 bucket hashes
	frameHeads  byte = 0x02 // sync response: frontier entries of differing buckets
	frameRange  byte = 0x03 // sync request: ranges by (author, seq)
	frameGet    byte = 0x04 // sync request: envelopes by id
	frameMsgs   byte = 0x05 // sync response: envelopes
	frameEnd    byte = 0x06 // end of a response, with a status

	frameBlobHave  byte = 0x10 // blob request: do you hold id?
	frameBlobInfo  byte = 0x11 // blob response: held, size
	frameBlobGet   byte = 0x12 // blob request: id from a chunk on
	frameBlobChunk byte = 0x13 // blob response: one chunk
)

// END statuses.
const (
	statusOK         byte = 0 // the response is complete
	statusTruncated  byte = 1 // a limit cut the response short; ask again
	statusBusy       byte = 2 // too many concurrent requests from this peer
	statusBadRequest byte = 3 // the request broke the protocol or its limits
	statusNotFound   byte = 4 // (blob) not held
	statusInternal   byte = 5 // the server failed to read its own store
)

// ErrProtocol is a peer breaking the frame rules; the peer is penalised.
var ErrProtocol = errors.New("p2p: protocol violation")

// ErrBusy is a peer refusing a request because of its concurrency limit.
var ErrBusy = errors.New("p2p: peer busy")

// frameConn reads and writes length-prefixed frames on a stream with a
// deadline for each read and write:
//
//	uvarint(len(type ‖ payload)) ‖ type(1) ‖ payload
type frameConn struct {
	s        network.Stream
	r        *bufio.Reader
	w        *bufio.Writer
	maxFrame int
	timeout  time.Duration
}

func newFrameConn(s network.Stream, maxFrame int, timeout time.Duration) *frameConn {
	return &frameConn{s: s, r: bufio.NewReaderSize(s, 64<<10), w: bufio.NewWriterSize(s, 64<<10), maxFrame: maxFrame, timeout: timeout}
}

// write queues one frame; flush sends what is queued.
func (c *frameConn) write(typ byte, payload []byte) error {
	if 1+len(payload) > c.maxFrame {
		return fmt.Errorf("write frame %#x of %d bytes: over the %d-byte limit", typ, len(payload), c.maxFrame)
	}
	_ = c.s.SetWriteDeadline(time.Now().Add(c.timeout))
	var hdr [binary.MaxVarintLen64 + 1]byte
	n := binary.PutUvarint(hdr[:], uint64(1+len(payload)))
	hdr[n] = typ
	if _, err := c.w.Write(hdr[:n+1]); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if _, err := c.w.Write(payload); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func (c *frameConn) flush() error {
	_ = c.s.SetWriteDeadline(time.Now().Add(c.timeout))
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// send writes one frame and flushes.
func (c *frameConn) send(typ byte, payload []byte) error {
	if err := c.write(typ, payload); err != nil {
		return err
	}
	return c.flush()
}

// read returns the next frame. The payload is a fresh slice.
func (c *frameConn) read() (byte, []byte, error) {
	_ = c.s.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("read frame length: %w", err)
	}
	if n == 0 || n > uint64(c.maxFrame) {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrProtocol, n, c.maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return buf[0], buf[1:], nil
}

// expect reads a frame and checks its type; an END frame becomes an error
// carrying its status.
func (c *frameConn) expect(types ...byte) (byte, []byte, error) {
	typ, p, err := c.read()
	if err != nil {
		return 0, nil, err
	}
	for _, t := range types {
		if typ == t {
			return typ, p, nil
		}
	}
	if typ == frameEnd && len(p) == 1 {
		return 0, nil, endError(p[0])
	}
	return 0, nil, fmt.Errorf("%w: unexpected frame %#x", ErrProtocol, typ)
}

func endError(status byte) error {
	switch status {
	case statusBusy:
		return ErrBusy
	case statusNotFound:
		return errNotFound
	case statusBadRequest:
		return fmt.Errorf("%w: peer says our request was bad", ErrProtocol)
	default:
		return fmt.Errorf("p2p: peer ended with status %d", status)
	}
}

var errNotFound = errors.New("p2p: not found")

// be is a small big-endian payload builder and reader.
type be struct {
	b   []byte
	off int
	bad bool
}

func (p *be) u8(v byte)    { p.b = append(p.b, v) }
func (p *be) u32(v uint32) { p.b = binary.BigEndian.AppendUint32(p.b, v) }
func (p *be) u64(v uint64) { p.b = binary.BigEndian.AppendUint64(p.b, v) }
func (p *be) raw(v []byte) { p.b = append(p.b, v...) }
func (p *be) left() int    { return len(p.b) - p.off }
func (p *be) take(n int) []byte {
	if p.bad || n < 0 || p.left() < n {
		p.bad = true
		return nil
	}
	v := p.b[p.off : p.off+n]
	p.off += n
	return v
}
func (p *be) getU8() byte {
	v := p.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}
func (p *be) getU32() uint32 {
	v := p.take(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}
func (p *be) getU64() uint64 {
	v := p.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// done reports whether the payload was read exactly.
func (p *be) done() bool { return !p.bad && p.left() == 0 }
