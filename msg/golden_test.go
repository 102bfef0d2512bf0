package msg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type goldenEnvelope struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	Seq      uint64 `json:"seq"`
	Envelope string `json:"envelope"`
	ID       string `json:"id"`
	Sig      string `json:"sig"`
	// Diagnostic notation (RFC 8949 §8) of the body and the payload, for people.
	BodyDiag    string `json:"body_diag"`
	PayloadDiag string `json:"payload_diag"`
}

type goldenValue struct {
	Name  string `json:"name"`
	Def   string `json:"definition"`
	Value string `json:"value"`
}

func goldenEnvelopeRows(t testing.TB) []goldenEnvelope {
	var rows []goldenEnvelope
	for i, e := range goldenEnvelopes(t) {
		bd, err := cbor.Diagnose(e.BodyBytes())
		if err != nil {
			t.Fatal(err)
		}
		pd, err := cbor.Diagnose(e.Body.Payload)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, goldenEnvelope{
			BodyDiag: bd, PayloadDiag: pd,
			Name: goldenCases()[i].name, Kind: e.Body.Kind, Seq: e.Body.Seq,
			Envelope: hex.EncodeToString(e.Raw), ID: e.ID.String(), Sig: hex.EncodeToString(e.Sig[:]),
		})
	}
	return rows
}

func readN(r io.Reader, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err)
	}
	return b
}

func goldenDerivedRows(t testing.TB) []goldenValue {
	envs := goldenEnvelopes(t)
	g := goldenGenesisCBOR(t)
	net := NetworkID(g)
	ids := make([]ID, len(envs))
	var request ID
	for i, e := range envs {
		ids[i] = e.ID
		if e.Body.Kind == KindRequest && request.IsZero() {
			request = e.ID
		}
	}
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	batch := BatchHash(ids)
	seed0 := Seed(0, net, batch)
	worker := AccountOf(goldenKey())
	salt := fill(0x5a)
	stdout := BlobID([]byte("hello\n"))
	outcome := OutcomeHash(0, 0, 12_345, stdout)
	evidence := EvidencePostID(request, 3, 1)
	h := func(id ID) string { return id.String() }
	return []goldenValue{
		{"key_seed", "seed of the golden Ed25519 key", hex.EncodeToString(goldenKey().Seed())},
		{"account", "golden public key (hex)", AccountOf(goldenKey()).Hex()},
		{"account_peer_id", "golden account as a libp2p peer id", AccountOf(goldenKey()).String()},
		{"genesis_cbor", "canonical CBOR of the sample genesis G (fixtures_test.go)", hex.EncodeToString(g)},
		{"network_id", "BLAKE3(\"guild/v1/genesis\\x00\" ‖ G)", h(net)},
		{"topic", "gossipsub topic", Topic(net)},
		{"incinerator", "BLAKE3(\"guild/v1/incinerator\\x00\")", h(Incinerator)},
		{"batch_hash_empty", "batch hash of an empty batch", h(BatchHash(nil))},
		{"batch_hash", "batch hash of the golden envelope ids, ascending", h(batch)},
		{"seed_0", "seed_0 = Seed(0, network id, batch_hash)", h(seed0)},
		{"seed_1", "seed_1 = Seed(1, seed_0, batch_hash_empty)", h(Seed(1, seed0, BatchHash(nil)))},
		{"request", "request id used below: the golden REQUEST envelope's id", h(request)},
		{"blob_id", "BLAKE3(\"hello\\n\"), the stdout and output blob id", h(stdout)},
		{"outcome_hash", "OutcomeHash(class 0, code 0, fuel_used 12345, blob_id)", h(outcome)},
		{"commitment", "Commitment(request, run 3, round 1, account, outcome_hash, salt 0x5a×32)", h(Commitment(request, 3, 1, worker, outcome, salt))},
		{"unavailable_outcome", "UnavailableOutcome(request, run 3)", h(UnavailableOutcome(request, 3))},
		{"evidence_post_id", "EvidencePostID(request, run 3, round 1)", h(evidence)},
		{"work_pool_id", "WorkPoolID(evidence_post_id)", h(WorkPoolID(evidence))},
		{"committee_stream_64", "first 64 bytes of CommitteeStream(seed_0, request, run 3, round 1)", hex.EncodeToString(readN(CommitteeStream(seed0, request, 3, 1), 64))},
		{"job_random_stream_64", "first 64 bytes of JobRandomStream(request, run 3)", hex.EncodeToString(readN(JobRandomStream(request, 3), 64))},
		{"job_random_stream_local_64", "first 64 bytes of JobRandomStream(zero request, run 0), the stream of local runs", hex.EncodeToString(readN(JobRandomStream(ID{}, 0), 64))},
	}
}

func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./msg -run Golden -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from what the code produces now; if the change is intended, run with -update and review the diff", path)
	}
}

func TestGoldenEnvelopes(t *testing.T) { checkGolden(t, "envelopes.json", goldenEnvelopeRows(t)) }
func TestGoldenDerived(t *testing.T)   { checkGolden(t, "derived.json", goldenDerivedRows(t)) }

// TestGoldenFileDecodes reads the stored vectors (not the regenerated ones) and
// checks that each decodes under the golden network with the stored id and
// signature, and that its kind matches: a second implementation can run the
// same checks from the JSON alone.
func TestGoldenFileDecodes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "envelopes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []goldenEnvelope
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	seen := map[Kind]bool{}
	net := goldenNetwork(t)
	for _, r := range rows {
		raw, _ := hex.DecodeString(r.Envelope)
		e, err := Decode(raw, Options{Network: net})
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if e.ID.String() != r.ID || hex.EncodeToString(e.Sig[:]) != r.Sig || e.Body.Kind != r.Kind || e.Body.Seq != r.Seq {
			t.Fatalf("%s: decoded id %s kind %v seq %d, file says %s %v %d", r.Name, e.ID, e.Body.Kind, e.Body.Seq, r.ID, r.Kind, r.Seq)
		}
		if ID(BlobID(e.BodyBytes())) != e.ID {
			t.Fatalf("%s: id is not BLAKE3 of the body", r.Name)
		}
		seen[r.Kind] = true
	}
	for k := KindPost; k <= KindCheckpoint; k++ {
		if !seen[k] {
			t.Errorf("no golden envelope of kind %v", k)
		}
	}
}
