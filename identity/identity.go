package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/guild-net/guild/msg"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// ErrExists is returned instead of overwriting a key file: a lost key is a lost account.
var ErrExists = errors.New("key file already exists")

// ErrPermissions is returned for a key file readable by group or others.
var ErrPermissions = errors.New("key file must not be readable by group or others (chmod 600)")

// Key is an expert's signing key.
type Key struct {
	Priv ed25519.PrivateKey
}

// Account is the key's account id.
func (k Key) Account() msg.Account { return msg.AccountOf(k.Priv) }

// Libp2p gives the key in libp2p's form, for the host identity.
func (k Key) Libp2p() (crypto.PrivKey, error) {
	return crypto.UnmarshalEd25519PrivateKey(k.Priv)
}

// Generate makes a new key from r (crypto/rand when nil).
func Generate(r io.Reader) (Key, error) {
	if r == nil {
		r = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	return Key{Priv: priv}, nil
}

// FromSeed derives a key from a 32-byte seed (tests and devnets only).
func FromSeed(seed [32]byte) Key { return Key{Priv: ed25519.NewKeyFromSeed(seed[:])} }

// Marshal gives the libp2p protobuf encoding of the private key.
func (k Key) Marshal() ([]byte, error) {
	lk, err := k.Libp2p()
	if err != nil {
		return nil, err
	}
	return crypto.MarshalPrivateKey(lk)
}

// Save writes the key to path with mode 0600, creating the directory; it never
// overwrites an existing file, and the file is synced before Save returns.
func Save(path string, k Key) error {
	b, err := k.Marshal()
	if err != nil {
		return fmt.Errorf("save key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("save key %s: %w", path, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("save key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save key %s: %w", path, err)
	}
	return f.Close()
}

// Load reads a key file, refusing one that others can read.
func Load(path string) (Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("load key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("load key %s (mode %o): %w", path, st.Mode().Perm(), ErrPermissions)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("load key: %w", err)
	}
	return Parse(b)
}

// Parse decodes a libp2p protobuf private key, which must be Ed25519.
func Parse(b []byte) (Key, error) {
	lk, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return Key{}, fmt.Errorf("parse key: %w", err)
	}
	if lk.Type() != crypto.Ed25519 {
		return Key{}, fmt.Errorf("parse key: %v key, want Ed25519", lk.Type())
	}
	raw, err := lk.Raw()
	if err != nil {
		return Key{}, fmt.Errorf("parse key: %w", err)
	}
	if len(raw) != ed25519.PrivateKeySize {
		return Key{}, fmt.Errorf("parse key: %d raw bytes, want %d", len(raw), ed25519.PrivateKeySize)
	}
	return Key{Priv: ed25519.PrivateKey(raw)}, nil
}
