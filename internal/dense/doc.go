// Package dense owns Map, the storage of per-account balances that the state copies
// every epoch: values in a dense slice that a clone copies outright, keys numbered
// through a map that clones share until one of them adds or removes a key.
package dense
