package store

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func TestDbgPebbleCache(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100000; i++ {
		db.Set([]byte(fmt.Sprintf("k%08d", i)), make([]byte, 100), pebble.NoSync)
	}
	db.Flush()
	for i := 0; i < 1000; i++ {
		v, c, err := db.Get([]byte(fmt.Sprintf("k%08d", i%10)))
		if err != nil {
			t.Fatal(err)
		}
		_ = v
		c.Close()
	}
	fmt.Println(db.Metrics().BlockCache)
	db.Close()
}
