package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/guild-net/guild/msg"
)

// Key prefixes (see doc.go for the full layout). Every key is a go-datastore
// path made of lowercase hex components, so it survives the datastore's path
// rules, and lexicographic key order equals numeric order of the fixed-width
// big-endian fields it encodes.
const (
	pRecord  = "/o/"  // /o/<n>                         → record value
	pID      = "/m/"  // /m/<id>                        → n
	pAuthor  = "/a/"  // /a/<author>/<seq>/<id>         → n
	pHead    = "/h/"  // /h/<author>                    → seq
	pFork    = "/f/"  // /f/<author>/<seq>/<idA>/<idB>  → empty
	pRecv    = "/r/"  // /r/<recv>/<n>                  → empty
	pChunk   = "/b/"  // /b/<blob id>/<chunk index>     → chunk bytes
	pBlob    = "/bs/" // /bs/<blob id>                  → size
	pMeta    = "/x/"  // /x/<hex(meta key)>             → value
	kVersion = "/v"   // format marker
)

// formatVersion is stored under kVersion; a store written by another layout
// is refused rather than misread.
const formatVersion = "guild-store/1"

// recordVersion is the first byte of every record value.
const recordVersion = 1

// recordHeader is the size of a record value before the envelope:
// version(1) id(32) author(32) seq(8) recvMs(8).
const recordHeader = 1 + 32 + 32 + 8 + 8

func appendHex(b []byte, src []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, 2*len(src))...)
	hex.Encode(b[n:], src)
	return b
}

func appendU64(b []byte, v uint64) []byte {
	var x [8]byte
	binary.BigEndian.PutUint64(x[:], v)
	return appendHex(b, x[:])
}

func appendU32(b []byte, v uint32) []byte {
	var x [4]byte
	binary.BigEndian.PutUint32(x[:], v)
	return appendHex(b, x[:])
}

// recvKey maps a signed millisecond time to an unsigned value with the same
// order, so times before 1970 (never expected, but representable) still sort.
func recvKey(ms int64) uint64 { return uint64(ms) ^ (1 << 63) }

func recordKey(n uint64) string { return string(appendU64([]byte(pRecord), n)) }

func idKey(id msg.ID) string { return string(appendHex([]byte(pID), id[:])) }

func authorPrefix(a msg.Account) string {
	return string(append(appendHex([]byte(pAuthor), a[:]), '/'))
}

func authorSeqPrefix(a msg.Account, seq uint64) string {
	return string(append(appendU64([]byte(authorPrefix(a)), seq), '/'))
}

func authorKey(a msg.Account, seq uint64, id msg.ID) string {
	return string(appendHex([]byte(authorSeqPrefix(a, seq)), id[:]))
}

func headKey(a msg.Account) string { return string(appendHex([]byte(pHead), a[:])) }

func forkKey(f Fork) string {
	b := appendHex([]byte(pFork), f.Author[:])
	b = append(b, '/')
	b = appendU64(b, f.Seq)
	b = append(b, '/')
	b = appendHex(b, f.A[:])
	b = append(b, '/')
	b = appendHex(b, f.B[:])
	return string(b)
}

func recvIndexKey(ms int64, n uint64) string {
	b := appendU64([]byte(pRecv), recvKey(ms))
	b = append(b, '/')
	return string(appendU64(b, n))
}

func blobKey(id msg.ID) string { return string(appendHex([]byte(pBlob), id[:])) }

func chunkPrefix(id msg.ID) string { return string(append(appendHex([]byte(pChunk), id[:]), '/')) }

func chunkKey(id msg.ID, i uint32) string { return string(appendU32([]byte(chunkPrefix(id)), i)) }

func metaKey(k string) string { return string(appendHex([]byte(pMeta), []byte(k))) }

// prefixEnd is the smallest key greater than every key starting with prefix.
// Prefixes always end in '/', so incrementing that byte is enough.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}

func u64bytes(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func parseU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: value of %d bytes where 8 expected", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// hexField decodes the fixed-width hex component of key at [off, off+2*len(dst)).
func hexField(key []byte, off int, dst []byte) error {
	if off+2*len(dst) > len(key) {
		return fmt.Errorf("%w: key %q too short", ErrCorrupt, key)
	}
	if _, err := hex.Decode(dst, key[off:off+2*len(dst)]); err != nil {
		return fmt.Errorf("%w: key %q: %v", ErrCorrupt, key, err)
	}
	return nil
}

func hexU64(key []byte, off int) (uint64, error) {
	var x [8]byte
	if err := hexField(key, off, x[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(x[:]), nil
}

func encodeRecord(r *Record) []byte {
	v := make([]byte, recordHeader+len(r.Envelope))
	v[0] = recordVersion
	copy(v[1:33], r.ID[:])
	copy(v[33:65], r.Author[:])
	binary.BigEndian.PutUint64(v[65:73], r.Seq)
	binary.BigEndian.PutUint64(v[73:81], uint64(r.RecvMs))
	copy(v[recordHeader:], r.Envelope)
	return v
}

// parseRecord decodes a record value. The envelope aliases v: a caller whose v
// is a buffer the engine reuses copies it.
func parseRecord(v []byte) (Record, error) {
	var r Record
	if len(v) < recordHeader || v[0] != recordVersion {
		return r, fmt.Errorf("%w: record value of %d bytes, version %d", ErrCorrupt, len(v), firstByte(v))
	}
	copy(r.ID[:], v[1:33])
	copy(r.Author[:], v[33:65])
	r.Seq = binary.BigEndian.Uint64(v[65:73])
	r.RecvMs = int64(binary.BigEndian.Uint64(v[73:81]))
	r.Envelope = v[recordHeader:len(v):len(v)]
	return r, nil
}

func firstByte(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0])
}

func hexU32(key []byte, off int) (uint32, error) {
	var x [4]byte
	if err := hexField(key, off, x[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(x[:]), nil
}
