package store

import (
	"context"
	"fmt"
	"testing"
)

func TestDbgMetrics(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := benchEnv()
	var tks []Ticket
	for i := 0; i < 200000; i++ {
		tks = append(tks, s.Put(benchRecord(i, env)))
	}
	for _, tk := range tks {
		tk.Wait(context.Background())
	}
	fmt.Println(s.kv.db.Metrics().BlockCache)
	for i := 0; i < 10000; i++ {
		s.kv.has(idKey(benchRecord(i%10+5000000, env).ID))
	}
	fmt.Println(s.kv.db.Metrics().BlockCache)
	for i := 0; i < 10000; i++ {
		s.kv.get(idKey(benchRecord(i%10, env).ID))
	}
	m := s.kv.db.Metrics()
	fmt.Println(m.BlockCache)
	s.Close()
}
