package genesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

// Allocation is one account's starting balances.
type Allocation struct {
	Account      msg.Account
	RepMicro     uint64
	CreditsMicro uint64
}

// Genesis is the parsed, checked genesis of a network.
type Genesis struct {
	Name        string
	GenesisTsMs uint64
	Allocations []Allocation  // sorted by account, unique
	Witnesses   []msg.Account // sorted, unique
	Gateways    []msg.Account // sorted, unique
	Params      params.Set    // defaults with the genesis diff applied, epoch_ms and grace_ms included
}

// EpochMs is E, the epoch length.
func (g *Genesis) EpochMs() uint64 { return g.Params.Get(params.EpochMs) }

// GraceMs is g, the grace after an epoch's end before witnesses checkpoint it.
func (g *Genesis) GraceMs() uint64 { return g.Params.Get(params.GraceMs) }

// Named reports whether a is listed in allocations, witnesses or gateways.
func (g *Genesis) Named(a msg.Account) bool {
	cmp := func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) }
	if _, ok := slices.BinarySearchFunc(g.Witnesses, a, cmp); ok {
		return true
	}
	if _, ok := slices.BinarySearchFunc(g.Gateways, a, cmp); ok {
		return true
	}
	_, ok := slices.BinarySearchFunc(g.Allocations, a, func(x Allocation, y msg.Account) int { return cmp(x.Account, y) })
	return ok
}

// IsGateway reports whether a is a gateway.
func (g *Genesis) IsGateway(a msg.Account) bool {
	_, ok := slices.BinarySearchFunc(g.Gateways, a, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	return ok
}

// Errors of a genesis file.
var (
	ErrInvalid = errors.New("invalid genesis")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// File is the JSON form of WIRE §5. Accounts are libp2p peer-id strings.
type File struct {
	Name        string            `json:"name"`
	GenesisTsMs uint64            `json:"genesis_ts_ms"`
	EpochMs     uint64            `json:"epoch_ms"`
	GraceMs     uint64            `json:"grace_ms"`
	Allocations []FileAllocation  `json:"allocations"`
	Witnesses   []string          `json:"witnesses"`
	Gateways    []string          `json:"gateways"`
	Params      map[string]uint64 `json:"params"`
}

// FileAllocation is one entry of the JSON allocations list.
type FileAllocation struct {
	Account      string `json:"account"`
	RepMicro     uint64 `json:"rep_micro"`
	CreditsMicro uint64 `json:"credits_micro"`
}

// Load reads and checks a genesis file.
func Load(path string) (*Genesis, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	g, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, nil
}

// Parse decodes the JSON form strictly (unknown fields are errors) and checks it.
func Parse(data []byte) (*Genesis, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, invalid("%v", err)
	}
	if dec.More() {
		return nil, invalid("trailing data after the JSON object")
	}
	return FromFile(&f)
}

// FromFile checks a File and builds the Genesis.
func FromFile(f *File) (*Genesis, error) {
	g := &Genesis{Name: f.Name, GenesisTsMs: f.GenesisTsMs}
	if f.Name == "" {
		return nil, invalid("name is empty")
	}
	var diff params.Diff
	diff = append(diff, params.Change{ID: params.EpochMs, Value: f.EpochMs}, params.Change{ID: params.GraceMs, Value: f.GraceMs})
	names := make([]string, 0, len(f.Params))
	for n := range f.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		inf, ok := params.ByName(n)
		if !ok {
			return nil, invalid("params: unknown parameter %q", n)
		}
		if inf.ID == params.EpochMs || inf.ID == params.GraceMs {
			return nil, invalid("params: %s belongs in the top-level field, not in params", n)
		}
		diff = append(diff, params.Change{ID: inf.ID, Value: f.Params[n]})
	}
	slices.SortFunc(diff, func(a, b params.Change) int { return int(a.ID) - int(b.ID) })
	set, err := params.Defaults().ApplyDiff(diff)
	if err != nil {
		return nil, invalid("params: %v", err)
	}
	g.Params = set
	for i, a := range f.Allocations {
		acc, err := msg.ParseAccount(a.Account)
		if err != nil {
			return nil, invalid("allocations[%d]: %v", i, err)
		}
		g.Allocations = append(g.Allocations, Allocation{Account: acc, RepMicro: a.RepMicro, CreditsMicro: a.CreditsMicro})
	}
	slices.SortFunc(g.Allocations, func(a, b Allocation) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	for i := 1; i < len(g.Allocations); i++ {
		if g.Allocations[i].Account == g.Allocations[i-1].Account {
			return nil, invalid("allocations: %s listed twice", g.Allocations[i].Account)
		}
	}
	if err := checkTotals(g.Allocations); err != nil {
		return nil, err
	}
	if g.Witnesses, err = parseAccounts("witnesses", f.Witnesses); err != nil {
		return nil, err
	}
	if len(g.Witnesses) == 0 {
		return nil, invalid("witnesses: at least one is needed, or no epoch can ever be live")
	}
	if g.Gateways, err = parseAccounts("gateways", f.Gateways); err != nil {
		return nil, err
	}
	return g, nil
}

func checkTotals(as []Allocation) error {
	var rep, cr uint64
	for _, a := range as {
		if rep+a.RepMicro < rep || cr+a.CreditsMicro < cr {
			return invalid("allocations: totals overflow 64 bits")
		}
		rep += a.RepMicro
		cr += a.CreditsMicro
	}
	return nil
}

func parseAccounts(field string, ss []string) ([]msg.Account, error) {
	out := make([]msg.Account, 0, len(ss))
	for i, s := range ss {
		a, err := msg.ParseAccount(s)
		if err != nil {
			return nil, invalid("%s[%d]: %v", field, i, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b msg.Account) int { return bytes.Compare(a[:], b[:]) })
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, invalid("%s: %s listed twice", field, out[i])
		}
	}
	return out, nil
}

// File gives the JSON form of g, accounts as peer ids, params only where they differ
// from the defaults.
func (g *Genesis) File() *File {
	f := &File{Name: g.Name, GenesisTsMs: g.GenesisTsMs, EpochMs: g.EpochMs(), GraceMs: g.GraceMs(),
		Allocations: []FileAllocation{}, Witnesses: []string{}, Gateways: []string{}, Params: map[string]uint64{}}
	for _, a := range g.Allocations {
		f.Allocations = append(f.Allocations, FileAllocation{Account: a.Account.String(), RepMicro: a.RepMicro, CreditsMicro: a.CreditsMicro})
	}
	for _, a := range g.Witnesses {
		f.Witnesses = append(f.Witnesses, a.String())
	}
	for _, a := range g.Gateways {
		f.Gateways = append(f.Gateways, a.String())
	}
	for _, c := range g.Params.NonDefault() {
		if c.ID == params.EpochMs || c.ID == params.GraceMs {
			continue
		}
		inf, _ := params.Lookup(c.ID)
		f.Params[inf.Name] = c.Value
	}
	return f
}

// JSON gives the indented JSON form.
func (g *Genesis) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(g.File(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type allocRow struct {
	_       struct{} `cbor:",toarray"`
	Account msg.Account
	Rep     uint64
	Credits uint64
}

type object struct {
	Name        string            `cbor:"1,keyasint"`
	GenesisTsMs uint64            `cbor:"2,keyasint"`
	EpochMs     uint64            `cbor:"3,keyasint"`
	GraceMs     uint64            `cbor:"4,keyasint"`
	Allocations []allocRow        `cbor:"5,keyasint,omitempty"`
	Witnesses   []msg.Account     `cbor:"6,keyasint,omitempty"`
	Gateways    []msg.Account     `cbor:"7,keyasint,omitempty"`
	Params      map[uint64]uint64 `cbor:"8,keyasint,omitempty"`
}

// CBOR gives G, the canonical CBOR genesis object of WIRE §5.
func (g *Genesis) CBOR() []byte {
	o := object{Name: g.Name, GenesisTsMs: g.GenesisTsMs, EpochMs: g.EpochMs(), GraceMs: g.GraceMs(),
		Witnesses: g.Witnesses, Gateways: g.Gateways}
	for _, a := range g.Allocations {
		o.Allocations = append(o.Allocations, allocRow{Account: a.Account, Rep: a.RepMicro, Credits: a.CreditsMicro})
	}
	for _, c := range g.Params.NonDefault() {
		if c.ID == params.EpochMs || c.ID == params.GraceMs {
			continue // top-level fields 3 and 4, never in the params map
		}
		if o.Params == nil {
			o.Params = map[uint64]uint64{}
		}
		o.Params[uint64(c.ID)] = c.Value
	}
	b, err := msg.Marshal(&o)
	if err != nil {
		panic(fmt.Sprintf("genesis: encode G: %v", err)) // only fixed-shape, valid values reach here
	}
	return b
}

// NetworkID is BLAKE3("guild/v1/genesis\x00" ‖ G).
func (g *Genesis) NetworkID() msg.ID { return msg.NetworkID(g.CBOR()) }
