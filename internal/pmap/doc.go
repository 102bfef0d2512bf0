// Package pmap owns a persistent (copy-on-write) hash map: a hash array mapped trie
// whose Clone is O(1) and whose writes copy only the nodes they touch that another
// version still shares. The state keeps one snapshot per epoch; with Go maps every
// snapshot copied the forum's values and flows, the open pools and the deposit
// references whole, with pmap it costs what the epoch changed.
//
// Iteration order depends only on the hashes, never on a random seed, but callers that
// need an order (state rows) still sort.
package pmap
