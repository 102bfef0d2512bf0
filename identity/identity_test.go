package identity

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestSaveLoadAndPeerID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "key")
	k, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(path, k); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, k); !errors.Is(err, ErrExists) {
		t.Fatalf("second save: %v, want ErrExists", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Priv.Equal(k.Priv) {
		t.Fatal("loaded key differs")
	}
	lk, _ := k.Libp2p()
	pid, err := peer.IDFromPrivateKey(lk)
	if err != nil {
		t.Fatal(err)
	}
	if pid.String() != k.Account().String() {
		t.Fatalf("peer id %s, account %s", pid, k.Account())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrPermissions) {
		t.Fatalf("world-readable key: %v, want ErrPermissions", err)
	}
}
