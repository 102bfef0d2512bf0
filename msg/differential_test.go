package msg

import (
	"errors"
	"reflect"
	"testing"
)

// payloadSeeds gives (kind, payload) pairs: every golden payload and every
// payload of the reject table, each also under every other kind.
func payloadSeeds(tb testing.TB) []payloadSeed {
	var payloads [][]byte
	for _, e := range goldenEnvelopes(tb) {
		payloads = append(payloads, e.Body.Payload)
	}
	for _, c := range rejectCases(tb) {
		body, _, err := splitEnvelope(c.raw)
		if err != nil {
			continue
		}
		var b Body
		var prev ID
		if decodeBody(body, &b, &prev) != nil {
			continue
		}
		payloads = append(payloads, b.Payload)
	}
	var out []payloadSeed
	for _, p := range payloads {
		for k := Kind(0); k <= KindCheckpoint+1; k++ {
			out = append(out, payloadSeed{k, p})
		}
	}
	return out
}

type payloadSeed struct {
	kind Kind
	data []byte
}

// checkPayloadAgrees fails unless DecodePayload and the reference reading
// (reference_test.go) accept the same input with equal values, or both reject it
// with the same reason.
func checkPayloadAgrees(t *testing.T, k Kind, data []byte) {
	t.Helper()
	p, err := DecodePayload(k, data)
	q, rerr := refDecodePayload(k, data)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("kind %d % x: hand %v, reference %v", k, data, err, rerr)
	}
	if err == nil {
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("kind %d % x: values differ\nhand %#v\nref  %#v", k, data, p, q)
		}
		return
	}
	checkTyped(t, err)
	var re, rre *RejectError
	if !errors.As(err, &re) || !errors.As(rerr, &rre) {
		t.Fatalf("kind %d % x: untyped rejection: hand %v, reference %v", k, data, err, rerr)
	}
	if re.Reason != rre.Reason {
		t.Fatalf("kind %d % x: reasons differ: hand %v, reference %v", k, data, err, rerr)
	}
}

// FuzzPayloadDifferential: for any kind and bytes, the hand payload decoders
// accept exactly what the reflection decoder with the re-encode check accepted,
// decode it to an equal value, and reject with the same reason.
func FuzzPayloadDifferential(f *testing.F) {
	for _, s := range payloadSeeds(f) {
		// The ceiling cases (16 KiB texts, a map of 1,025 pairs) would make the
		// fuzzer spend its time minimizing their mutants, slowly through the
		// reference; TestPayloadDifferentialLarge checks them as they are.
		if len(s.data) <= maxFuzzSeed {
			f.Add(byte(s.kind), s.data)
		}
	}
	for _, e := range benchMix(f) {
		f.Add(byte(e.Body.Kind), e.Body.Payload)
	}
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		checkPayloadAgrees(t, Kind(kind), data)
	})
}

const maxFuzzSeed = 2048

// TestPayloadDifferentialLarge runs the differential check on the seeds the fuzz
// target leaves out.
func TestPayloadDifferentialLarge(t *testing.T) {
	n := 0
	for _, s := range payloadSeeds(t) {
		if len(s.data) > maxFuzzSeed {
			checkPayloadAgrees(t, s.kind, s.data)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no large seeds: the ceiling cases of the reject table are gone")
	}
}

// TestPayloadDifferentialMutations runs the differential check, without a
// fuzzer, over every prefix of every seed and over each seed with one byte
// replaced by one of the interesting head bytes or flipped, so plain go test
// covers each reader's faults. Seeds above 512 bytes (the ceiling cases) are left
// to the fuzz target: the reference is slow.
func TestPayloadDifferentialMutations(t *testing.T) {
	heads := []byte{0x00, 0x01, 0x17, 0x18, 0x19, 0x1c, 0x1f, 0x20, 0x38, 0x40, 0x41, 0x58, 0x5f, 0x60, 0x61, 0x78,
		0x7f, 0x80, 0x81, 0x82, 0x83, 0x98, 0x9f, 0xa0, 0xa1, 0xb8, 0xbf, 0xc0, 0xf4, 0xf6, 0xf7, 0xf9, 0xff}
	seen := map[string]bool{}
	for _, s := range payloadSeeds(t) {
		if !s.kind.Valid() || len(s.data) > 512 {
			continue
		}
		key := string(rune(s.kind)) + string(s.data)
		if seen[key] {
			continue
		}
		seen[key] = true
		for n := range len(s.data) {
			checkPayloadAgrees(t, s.kind, s.data[:n])
		}
		m := make([]byte, len(s.data))
		for i := range s.data {
			for _, h := range append(heads, s.data[i]^0x01, s.data[i]^0x20, s.data[i]^0x80) {
				copy(m, s.data)
				m[i] = h
				checkPayloadAgrees(t, s.kind, m)
			}
		}
	}
}

// TestDecodeStoredMatchesDecode: for the golden vectors DecodeStored with the
// stored id gives the very envelope Decode gives, and for every case of the
// reject table it rejects with Decode's reason, but for the signature, which it
// does not check.
func TestDecodeStoredMatchesDecode(t *testing.T) {
	net := goldenNetwork(t)
	for _, e := range goldenEnvelopes(t) {
		want, err := Decode(e.Raw, Options{Network: net})
		if err != nil {
			t.Fatal(err)
		}
		for _, skip := range []bool{false, true} {
			got, err := DecodeStored(e.Raw, e.ID, Options{Network: net, SkipVerify: skip})
			if err != nil {
				t.Fatalf("%v: %v", e.Body.Kind, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%v: DecodeStored gives\n%#v\nDecode gives\n%#v", e.Body.Kind, got, want)
			}
		}
	}
	for _, c := range rejectCases(t) {
		o := Options{Network: rejNet}
		if c.opt != nil {
			o = *c.opt
		}
		_, err := DecodeStored(c.raw, ID{}, o)
		if c.want == nil || c.want == ErrBadSignature {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestDecodeStoredTakesTheID: the id is the caller's; nothing hashes the body.
func TestDecodeStoredTakesTheID(t *testing.T) {
	e := goldenEnvelopes(t)[0]
	got, err := DecodeStored(e.Raw, fill(0xee), Options{Network: goldenNetwork(t)})
	if err != nil || got.ID != fill(0xee) {
		t.Fatalf("id %v, err %v", got.ID, err)
	}
}

// TestPayloadQuirksKept pins what the reflection decoder did with forms no
// encoder writes, which the hand decoders keep: a reference written as a list of
// byte values is a valid value in another form (ErrNonCanonical), found only
// after every value decoded, and one that is no byte is a schema error.
func TestPayloadQuirksKept(t *testing.T) {
	me := cID(fill(1))
	for _, c := range []struct {
		name string
		kind Kind
		data []byte
		want error
	}{
		{"ref as list", KindDeposit, cM(kv{1, me}, kv{2, cU(1)}, kv{3, cA(cU(0), cU(255))}), ErrNonCanonical},
		{"ref as empty list", KindWithdraw, cM(kv{1, cU(1)}, kv{2, me}, kv{3, cA()}), ErrNonCanonical},
		{"ref list of 256", KindDeposit, cM(kv{1, me}, kv{2, cU(1)}, kv{3, cA(cU(256))}), ErrSchema},
		{"ref list then a bad type", KindDeposit, cM(kv{1, me}, kv{2, cU(1)}, kv{3, cA(cU(1))}, kv{4, cU(1)}), ErrSchema},
		{"ref as list, account a text", KindDeposit, cM(kv{1, cT("a")}, kv{2, cU(1)}, kv{3, cA(cU(1))}), ErrSchema},
		{"empty tags before a long head", KindPost, cM(kv{1, cT("t")}, kv{2, cT("x")}, kv{4, cA(cA(me, cU(1)))}, kv{6, cA()}, kv{8, cM(kv{1, []byte{0x18, 1}})}), ErrNonCanonical},
		{"empty tags before a negative param", KindPost, cM(kv{1, cT("t")}, kv{2, cT("x")}, kv{4, cA(cA(me, cU(1)))}, kv{6, cA()}, kv{8, cM(kv{1, cNeg(0)})}), ErrSchema},
		{"17 authors and empty tags", KindPost, cM(kv{1, cT("t")}, kv{2, cT("x")}, kv{4, cA(repeatItem(cA(me, cU(1)), 17)...)}, kv{6, cA()}), ErrNonCanonical},
		{"heads of integers", KindCheckpoint, cM(kv{1, cU(1)}, kv{2, cA(cU(1), cU(2), cU(3))}), ErrSchema},
	} {
		checkPayloadAgrees(t, c.kind, c.data)
		if _, err := DecodePayload(c.kind, c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
