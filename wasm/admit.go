package wasm

import (
	"errors"
	"fmt"
	"sort"

	"github.com/guild-net/guild/msg"
)

// MaxModuleSize is the largest module admitted (WIRE §6).
const MaxModuleSize = 16 << 20

// MaxPages is the largest memory a job may ask for (64 KiB pages; 4 GiB).
const MaxPages = 65536

// wasiModule is the only import namespace a job may use.
const wasiModule = "wasi_snapshot_preview1"

// wasiImports are the 16 allowed imports with their signatures (WIRE §6).
var wasiImports = map[string]funcType{
	"args_get":            {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"args_sizes_get":      {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"environ_get":         {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"environ_sizes_get":   {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"clock_time_get":      {params: []byte{tI32, tI64, tI32}, results: []byte{tI32}},
	"poll_oneoff":         {params: []byte{tI32, tI32, tI32, tI32}, results: []byte{tI32}},
	"sched_yield":         {results: []byte{tI32}},
	"random_get":          {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"proc_exit":           {params: []byte{tI32}},
	"fd_read":             {params: []byte{tI32, tI32, tI32, tI32}, results: []byte{tI32}},
	"fd_write":            {params: []byte{tI32, tI32, tI32, tI32}, results: []byte{tI32}},
	"fd_close":            {params: []byte{tI32}, results: []byte{tI32}},
	"fd_fdstat_get":       {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"fd_fdstat_set_flags": {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"fd_prestat_get":      {params: []byte{tI32, tI32}, results: []byte{tI32}},
	"fd_prestat_dir_name": {params: []byte{tI32, tI32, tI32}, results: []byte{tI32}},
}

// AllowedImports lists the importable WASI functions, sorted.
func AllowedImports() []string {
	names := make([]string, 0, len(wasiImports))
	for n := range wasiImports {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Admitted is a module that passed admission for a given memory size.
type Admitted struct {
	m          *module
	frameCosts []uint32
	pages      uint32
	// Hash is the module's blob id, BLAKE3 of its bytes.
	Hash msg.ID
}

// Admit applies the checks of WIRE §6 in their order (size, malformed, feature,
// import, memory); the error of a refusal is an *AdmissionError whose Code is the
// outcome's class-4 code. pages is the request's memory size in 64 KiB pages.
func Admit(module []byte, pages uint32) (*Admitted, error) {
	if len(module) > MaxModuleSize {
		return nil, &AdmissionError{Code: CodeSize, What: "module size",
			Detail: fmt.Sprintf("%d bytes, limit %d", len(module), MaxModuleSize)}
	}
	if pages == 0 || pages > MaxPages {
		return nil, fmt.Errorf("admit: memory of %d pages out of range 1..%d", pages, MaxPages)
	}
	m, err := decodeModule(module)
	if err != nil {
		return nil, err
	}
	a := &Admitted{m: m, pages: pages, Hash: msg.BlobID(module)}
	for fi := range m.codes {
		cost, err := m.validateFunc(fi)
		if err != nil {
			var ae *AdmissionError
			if errors.As(err, &ae) && ae.Code == CodeFeature {
				m.noteFeature(ae.What, ae.Detail)
				a.frameCosts = append(a.frameCosts, 0)
				continue
			}
			if errors.As(err, &ae) {
				return nil, ae
			}
			return nil, malformed("function %d: %v", len(m.imports)+fi, err)
		}
		a.frameCosts = append(a.frameCosts, cost)
	}
	if err := m.checkEntry(); err != nil {
		return nil, err
	}
	if m.feature != nil {
		return nil, m.feature
	}
	for _, im := range m.imports {
		name := im.module + "." + im.name
		if im.kind != extFunc {
			return nil, &AdmissionError{Code: CodeImport, What: name, Detail: "only functions may be imported"}
		}
		want, ok := wasiImports[im.name]
		if im.module != wasiModule || !ok {
			return nil, &AdmissionError{Code: CodeImport, What: name, Detail: "not one of the 16 allowed WASI functions"}
		}
		if !want.equal(m.types[im.typeIdx]) {
			return nil, &AdmissionError{Code: CodeImport, What: name, Detail: "signature differs from WASI preview 1"}
		}
	}
	for _, l := range m.memLimits {
		if l.min > uint64(pages) {
			return nil, &AdmissionError{Code: CodeMemory, What: "memory minimum",
				Detail: fmt.Sprintf("%d pages, the request allows %d", l.min, pages)}
		}
	}
	return a, nil
}

// checkEntry requires the WASI command entry point _start: () -> ().
func (m *module) checkEntry() error {
	for _, e := range m.exports {
		if e.name != "_start" {
			continue
		}
		if e.kind != extFunc {
			return malformed("export _start is not a function")
		}
		t := m.types[m.funcTypes[e.idx]]
		if len(t.params) != 0 || len(t.results) != 0 {
			return malformed("_start must take and return nothing")
		}
		return nil
	}
	return malformed("no _start export (a job is a WASI command)")
}
