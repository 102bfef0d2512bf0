package p2p

import (
	"errors"

	"github.com/zeebo/blake3"

	"github.com/guild-net/guild/msg"
)

// errEnvelope means bytes that are not shaped like an envelope. The full
// checks are msg.Decode's; this parser only finds the fields p2p routes by.
var errEnvelope = errors.New("not an envelope")

// envInfo is what p2p reads from an envelope without decoding it in full.
type envInfo struct {
	ID      msg.ID
	Author  msg.Account
	Seq     uint64
	Lamport uint64
}

// cborReader walks CBOR items without building values. It accepts
// non-canonical forms on purpose: msg.Decode is the judge, this only routes.
type cborReader struct {
	b   []byte
	off int
}

// head reads one item head: major type and argument.
func (r *cborReader) head() (major byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, errEnvelope
	}
	ib := r.b[r.off]
	r.off++
	major, ai := ib>>5, ib&0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if r.off+n > len(r.b) {
			return 0, 0, errEnvelope
		}
		for i := 0; i < n; i++ {
			arg = arg<<8 | uint64(r.b[r.off+i])
		}
		r.off += n
		return major, arg, nil
	default:
		return 0, 0, errEnvelope // indefinite lengths and reserved values
	}
}

// bytesArg reads a byte string item.
func (r *cborReader) bytesArg() ([]byte, error) {
	major, n, err := r.head()
	if err != nil || major != 2 || n > uint64(len(r.b)-r.off) {
		return nil, errEnvelope
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v, nil
}

func (r *cborReader) uint() (uint64, error) {
	major, v, err := r.head()
	if err != nil || major != 0 {
		return 0, errEnvelope
	}
	return v, nil
}

// skip steps over one item; depth bounds nesting so junk cannot recurse deep.
func (r *cborReader) skip(depth int) error {
	if depth > 16 {
		return errEnvelope
	}
	major, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case 0, 1, 7:
		return nil
	case 2, 3:
		if arg > uint64(len(r.b)-r.off) {
			return errEnvelope
		}
		r.off += int(arg)
		return nil
	case 4, 5:
		n := arg
		if major == 5 {
			if n > uint64(len(r.b)) {
				return errEnvelope
			}
			n *= 2
		}
		if n > uint64(len(r.b)-r.off) {
			return errEnvelope // every item takes at least one byte
		}
		for i := uint64(0); i < n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	default: // 6: tag
		return r.skip(depth + 1)
	}
}

// envelopeBody returns the body bytes of an envelope [body, sig].
func envelopeBody(data []byte) ([]byte, error) {
	r := cborReader{b: data}
	major, n, err := r.head()
	if err != nil || major != 4 || n != 2 {
		return nil, errEnvelope
	}
	return r.bytesArg()
}

// parseEnvelope finds the id, author, seq and lamport of an envelope.
func parseEnvelope(data []byte) (envInfo, error) {
	body, err := envelopeBody(data)
	if err != nil {
		return envInfo{}, err
	}
	info := envInfo{ID: msg.ID(blake3.Sum256(body))}
	r := cborReader{b: body}
	major, n, err := r.head()
	if err != nil || major != 5 || n > 32 {
		return envInfo{}, errEnvelope
	}
	var seen uint8
	for i := uint64(0); i < n; i++ {
		key, err := r.uint()
		if err != nil {
			return envInfo{}, err
		}
		switch key {
		case 3:
			a, err := r.bytesArg()
			if err != nil || len(a) != len(info.Author) {
				return envInfo{}, errEnvelope
			}
			copy(info.Author[:], a)
			seen |= 1
		case 4:
			if info.Seq, err = r.uint(); err != nil {
				return envInfo{}, err
			}
			seen |= 2
		case 7:
			if info.Lamport, err = r.uint(); err != nil {
				return envInfo{}, err
			}
			seen |= 4
		default:
			if err := r.skip(0); err != nil {
				return envInfo{}, err
			}
		}
	}
	if seen != 7 {
		return envInfo{}, errEnvelope
	}
	return info, nil
}

const junkTag = "guild/v1/p2p/junk\x00"

// gossipID is the gossipsub message id of data: the message id (BLAKE3 of
// the body, WIRE §2), so a re-signed body is a duplicate. Bytes that are not
// an envelope get a tagged hash of the whole, which the validator then
// rejects.
func gossipID(data []byte) string {
	body, err := envelopeBody(data)
	if err != nil {
		// A tag keeps junk out of the message-id space altogether.
		id := msg.TaggedHash(junkTag, data)
		return string(id[:])
	}
	id := blake3.Sum256(body)
	return string(id[:])
}
