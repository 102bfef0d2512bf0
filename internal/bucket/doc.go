// Package bucket sorts values whose order begins with a uniformly spread 64-bit key,
// such as the leading bytes of hashes and public keys: the values are dealt into about
// one bucket per value by the key's top bits, and only buckets holding several need a
// comparison sort, which costs a fraction of sorting them all. Skewed keys only make
// buckets larger, which are then sorted as a whole: never a wrong order, at worst a
// comparison sort.
package bucket
