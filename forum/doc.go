// Package forum owns the posts of the forum (SPEC §6 POST, §7.2): their weighted authors,
// signed citations, module blob id and params diff; every validity rule a post must meet
// to have an effect; each post's value (µREP kept for its authors, net) and each
// citation edge's flow (µREP donated, net); and Propagate and leach, which move minted
// REP along citations exactly as the pseudo-code of SPEC §7.2.
//
// Posts never change once added and are never removed: each epoch's new posts are kept
// in a private list with its own hash index until Seal files them into a sorted run, and
// runs, merged geometrically and each with a Bloom filter that answers most lookups of
// absent ids, are shared by every later version. Values and flows live in
// persistent maps (internal/pmap). So a sealed forum clones in O(log posts) and a
// clone's writes copy only what they touch.
package forum
