package wasm

import (
	"os"
	"testing"
)

// sharedCacheDir is one compile cache for the whole test binary, so each example
// is compiled once.
var sharedCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guild-wasm-cache-")
	if err != nil {
		panic(err)
	}
	sharedCacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newTestRunner(t testing.TB) *Runner {
	t.Helper()
	r, err := NewRunner(Config{CacheDir: sharedCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
