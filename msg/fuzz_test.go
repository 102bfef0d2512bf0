package msg

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/zeebo/blake3"
)

// checkTyped fails unless err is a *RejectError with one of the sentinels.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	for _, s := range allReasons {
		if re.Reason == s {
			return
		}
	}
	t.Fatalf("reason %v is not a sentinel", re.Reason)
}

// FuzzDecode: any bytes. Decode never panics and every rejection is typed. When it
// accepts, the body and payload re-encode to the very bytes received, the frame
// rebuilds the input, the id is the body hash and stays the same on a second
// decode, and the hand-written body decoder agrees with the reflection decoder
// plus re-encode check (the reference reading of WIRE §1). Signatures are skipped
// so mutations get past them; a valid one must re-seal byte for byte.
func FuzzDecode(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		f.Add(e.Raw)
	}
	for _, c := range rejectCases(f) {
		f.Add(c.raw)
	}
	net := goldenNetwork(f)
	priv := goldenKey()
	me := AccountOf(priv)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Differential check of the body decoder on whatever body the frame holds.
		if body, _, err := splitEnvelope(data); err == nil {
			var mine, ref Body
			var prev ID
			errMine := decodeBody(body, &mine, &prev)
			errRef := unmarshalCanonical(body, &ref, "body")
			if errRef == nil {
				errRef = checkKeys(body, bodyKeys.allowed, bodyKeys.required, "body")
			}
			if errRef == nil && len(ref.Parents) > MaxParents {
				errRef = reject(ErrSchema, "body.parents", "too many") // the hand decoder checks it before allocating
			}
			if (errMine == nil) != (errRef == nil) {
				t.Fatalf("body decoders disagree: hand %v, reference %v", errMine, errRef)
			}
			if errMine == nil && !reflect.DeepEqual(mine, ref) {
				t.Fatalf("body decoders disagree:\nhand %+v\nref  %+v", mine, ref)
			}
		}

		checkStoredDecoder(t, data, Options{Network: net})

		e, err := Decode(data, Options{Network: net, SkipVerify: true})
		if err != nil {
			checkTyped(t, err)
			return
		}
		body, err := Marshal(&e.Body)
		if err != nil || !bytes.Equal(body, e.BodyBytes()) {
			t.Fatalf("body re-encodes differently (%v)", err)
		}
		p, err := EncodePayload(e.Payload)
		if err != nil || !bytes.Equal(p, e.Body.Payload) {
			t.Fatalf("payload re-encodes differently (%v)", err)
		}
		frame := append([]byte{0x82}, appendHead(nil, 2, uint64(len(body)))...)
		frame = append(append(append(frame, body...), 0x58, 64), e.Sig[:]...)
		if !bytes.Equal(frame, data) {
			t.Fatal("frame rebuilds differently")
		}
		if e.ID != ID(blake3.Sum256(body)) {
			t.Fatal("id is not the body hash")
		}
		again, err := Decode(frame, Options{Network: net, SkipVerify: true})
		if err != nil || again.ID != e.ID {
			t.Fatalf("second decode: %v", err)
		}
		// With verification on, the outcome is the same or a bad signature.
		if _, err := Decode(data, Options{Network: net}); err != nil {
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("verify changed the reason: %v", err)
			}
			return
		}
		if e.Body.Author == me {
			s, err := Seal(priv, e.Body, e.Payload)
			if err != nil || !bytes.Equal(s.Raw, data) {
				t.Fatalf("re-seal differs (%v)", err)
			}
		}
	})
}

// checkStoredDecoder fails unless a StoredDecoder decodes data twice in a row to
// what DecodeStored gives, error for error, and the second decode, carved from the
// same slabs, leaves the first one's values as they were.
func checkStoredDecoder(t *testing.T, data []byte, o Options) {
	t.Helper()
	id := ID(blake3.Sum256(data))
	want, errWant := DecodeStored(data, id, o)
	if want != nil {
		// A StoredDecoder keeps nothing of the bytes it decodes.
		want.Raw, want.Body.Payload = nil, nil
	}
	d := NewStoredDecoder(o)
	decode := func() (*Envelope, error) {
		buf := bytes.Clone(data)
		e, err := d.Decode(buf, id)
		for i := range buf {
			buf[i] ^= 0xff
		}
		return e, err
	}
	first, errFirst := decode()
	second, errSecond := decode()
	for _, got := range []struct {
		e   *Envelope
		err error
	}{{first, errFirst}, {second, errSecond}} {
		if !reflect.DeepEqual(got.err, errWant) {
			t.Fatalf("StoredDecoder: error %v, DecodeStored: %v", got.err, errWant)
		}
		if !reflect.DeepEqual(got.e, want) {
			t.Fatalf("StoredDecoder and DecodeStored disagree:\n%+v\n%+v", got.e, want)
		}
	}
}

// FuzzDecodePayload: any kind byte, any payload bytes. Accepted payloads
// re-encode to the same bytes and decode again to an equal value.
func FuzzDecodePayload(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		f.Add(byte(e.Body.Kind), e.Body.Payload)
	}
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		p, err := DecodePayload(Kind(kind), data)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if p.Kind() != Kind(kind) {
			t.Fatalf("kind %d decoded as %v", kind, p.Kind())
		}
		b, err := EncodePayload(p)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encodes differently (%v)", err)
		}
		q, err := DecodePayload(Kind(kind), b)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("second decode differs (%v)", err)
		}
	})
}

// FuzzHeadsBlob: any bytes as a checkpoint's heads blob.
func FuzzHeadsBlob(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		if c, ok := e.Payload.(*Checkpoint); ok && len(c.Heads) > 0 {
			b, err := EncodeHeadsBlob(c.Heads)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)-1])
		}
	}
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := DecodeHeadsBlob(data)
		strict, errStrict := decodeHeadsStrict(data)
		if !reflect.DeepEqual(err, errStrict) || !reflect.DeepEqual(hs, strict) {
			t.Fatalf("fast form and strict readers disagree:\n%v %v\n%v %v", hs, err, strict, errStrict)
		}
		if err != nil {
			checkTyped(t, err)
			return
		}
		b, err := EncodeHeadsBlob(hs)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encodes differently (%v)", err)
		}
	})
}

// decodeHeadsStrict is DecodeHeadsBlob reading every head with the strict readers
// (slowHead) and checking the order afterwards, as it did before the fast form.
func decodeHeadsStrict(data []byte) ([]Head, error) {
	major, count, off, err := readHead(data)
	if err == nil && major != 4 {
		err = &RejectError{Reason: ErrSchema, Detail: "want a list, got " + majorName(major)}
	}
	if err == nil && count > uint64(len(data)-off)/70+1 {
		err = errTruncated()
	}
	var hs []Head
	for i := uint64(0); err == nil && i < count; i++ {
		var h Head
		var n int
		if n, err = slowHead(data[off:], &h); err == nil {
			hs = append(hs, h)
			off += n
		}
	}
	switch {
	case err != nil:
	case len(hs) == 0:
		err = &RejectError{Reason: ErrSchema, Detail: "empty"}
	case off != len(data):
		err = &RejectError{Reason: ErrMalformed, Detail: strconv.Itoa(len(data)-off) + " trailing bytes"}
	default:
		for i := 1; i < len(hs) && err == nil; i++ {
			if CompareHeads(hs[i-1], hs[i]) >= 0 {
				err = errHeadsOrder()
			}
		}
	}
	if err != nil {
		return nil, withField(err, "heads_blob")
	}
	return hs, nil
}
