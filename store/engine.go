package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

// kvw is one key/value write.
type kvw struct {
	key string
	val []byte
}

// engine is the small slice of a key-value store the Store needs. Writes and
// point reads go through go-datastore; ordered range scans go through pebble's
// iterator when the datastore is pebble, because go-datastore queries can only
// start at a path prefix, not at a key, and so does appendValue, which reads a
// value in place rather than through the datastore's copy.
type engine struct {
	d  ds.Batching
	db *pebble.DB // nil for the in-memory datastore
}

// get returns a copy of the value at key.
func (e *engine) get(key string) ([]byte, bool, error) {
	v, err := e.d.Get(context.Background(), ds.RawKey(key))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get %s: %w", key, err)
	}
	if e.db == nil {
		// The map datastore hands out its own slice; callers may keep ours.
		v = bytes.Clone(v)
	}
	return v, true, nil
}

// appendValue appends the value at key to dst. On pebble it copies the value
// once, from pebble's buffer, where get copies it into a new slice first: a
// rebuild reads every checkpoint's heads blob, tens of kilobytes each.
func (e *engine) appendValue(dst []byte, key string) ([]byte, bool, error) {
	if e.db == nil {
		v, ok, err := e.get(key)
		return append(dst, v...), ok, err
	}
	v, closer, err := e.db.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, fmt.Errorf("get %s: %w", key, err)
	}
	dst = append(dst, v...)
	if err := closer.Close(); err != nil {
		return dst, false, fmt.Errorf("get %s: %w", key, err)
	}
	return dst, true, nil
}

func (e *engine) has(key string) (bool, error) {
	if e.db != nil {
		return e.hasPebble(key)
	}
	ok, err := e.d.Has(context.Background(), ds.RawKey(key))
	if err != nil {
		return false, fmt.Errorf("has %s: %w", key, err)
	}
	return ok, nil
}

// hasPebble answers from the bloom filters whenever the key is absent.
// pebble's Get skips the filters of the bottom level (L6), where nearly all
// data lives, so a negative Get reads an index and a data block; an iterator
// with UseL6Filters does not.
func (e *engine) hasPebble(key string) (bool, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
	if err != nil {
		return false, fmt.Errorf("has %s: %w", key, err)
	}
	k := []byte(key)
	ok := it.SeekPrefixGE(k) && bytes.Equal(it.Key(), k)
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("has %s: %w", key, err)
	}
	return ok, nil
}

// commit writes all of ws atomically. On pebble the datastore was opened with
// pebble.Sync write options, so the batch commit returns only after the WAL
// holding it has been fsynced: one fsync per call, however many writes.
func (e *engine) commit(ws []kvw) error {
	ctx := context.Background()
	b, err := e.d.Batch(ctx)
	if err != nil {
		return fmt.Errorf("new batch: %w", err)
	}
	for _, w := range ws {
		if err := b.Put(ctx, ds.RawKey(w.key), w.val); err != nil {
			return fmt.Errorf("batch put %s: %w", w.key, err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("batch commit: %w", err)
	}
	return nil
}

// scan calls fn for every key in [lower, upper) that starts with prefix, in
// ascending key order (descending if reverse). An empty bound means the edge
// of the prefix. key and val are only valid during the call.
func (e *engine) scan(prefix, lower, upper string, reverse bool, fn func(key, val []byte) (bool, error)) error {
	if lower == "" || lower < prefix {
		lower = prefix
	}
	end := prefixEnd(prefix)
	if upper == "" || upper > end {
		upper = end
	}
	if lower >= upper {
		return nil
	}
	if e.db != nil {
		return e.scanPebble(lower, upper, reverse, fn)
	}
	return e.scanQuery(prefix, lower, upper, reverse, fn)
}

func (e *engine) scanPebble(lower, upper string, reverse bool, fn func(key, val []byte) (bool, error)) (err error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(lower), UpperBound: []byte(upper)})
	if err != nil {
		return fmt.Errorf("scan %s: %w", lower, err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("scan %s: %w", lower, cerr)
		}
	}()
	ok := it.First()
	next := it.Next
	if reverse {
		ok = it.Last()
		next = it.Prev
	}
	for ; ok; ok = next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			return fmt.Errorf("scan %s: %w", it.Key(), verr)
		}
		more, ferr := fn(it.Key(), v)
		if ferr != nil || !more {
			return ferr
		}
	}
	return nil
}

func (e *engine) scanQuery(prefix, lower, upper string, reverse bool, fn func(key, val []byte) (bool, error)) error {
	var order dsq.Order = dsq.OrderByKey{}
	if reverse {
		order = dsq.OrderByKeyDescending{}
	}
	res, err := e.d.Query(context.Background(), dsq.Query{
		Prefix: strings.TrimSuffix(prefix, "/"),
		Orders: []dsq.Order{order},
	})
	if err != nil {
		return fmt.Errorf("query %s: %w", prefix, err)
	}
	defer res.Close()
	for {
		r, ok := res.NextSync()
		if !ok {
			return nil
		}
		if r.Error != nil {
			return fmt.Errorf("query %s: %w", prefix, r.Error)
		}
		if r.Key < lower || r.Key >= upper {
			continue
		}
		more, ferr := fn([]byte(r.Key), r.Value)
		if ferr != nil || !more {
			return ferr
		}
	}
}

func (e *engine) close() error { return e.d.Close() }
