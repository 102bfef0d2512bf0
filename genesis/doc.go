// Package genesis owns the genesis file of a Guild network (WIRE §5): its JSON form,
// the checks that make a network start sane, the canonical CBOR object G whose tagged
// hash is the network id, and the parameter set the network starts with.
//
// Genesis fixes what can never change for the network's life: the epoch clock
// (genesis_ts_ms, epoch_ms, grace_ms), the genesis-scoped parameters, the first REP and
// credits, the fallback witnesses and the gateways. Bootstrap peers are node config.
package genesis
