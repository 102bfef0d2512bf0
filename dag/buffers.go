package dag

import (
	"bytes"
	"slices"

	"github.com/guild-net/guild/msg"
)

// fifo is an arrival-order queue whose entries die in place: a node counts as queued
// only while its state is the queue's. Dead entries are skipped when popping and
// dropped when they outnumber the live ones, so memory stays O(live).
type fifo struct {
	q    []*Node
	head int
}

func (f *fifo) push(n *Node) { f.q = append(f.q, n) }

// pop removes and returns the oldest live entry, nil when there is none.
func (f *fifo) pop(st nodeState) *Node {
	for f.head < len(f.q) {
		n := f.q[f.head]
		f.q[f.head] = nil
		f.head++
		if n.state == st {
			return n
		}
	}
	return nil
}

// tidy keeps the slice O(live): it drops dead entries when they outnumber the live
// ones, and the popped prefix when it is most of the slice (a full buffer that keeps
// evicting would otherwise grow the slice by one entry per message).
func (f *fifo) tidy(live int, st nodeState) {
	if len(f.q)-f.head > 2*live+64 {
		f.q = f.live(st)
		f.head = 0
	} else if f.head > 64 && f.head > len(f.q)/2 {
		f.q = append(f.q[:0:0], f.q[f.head:]...)
		f.head = 0
	}
}

func (f *fifo) live(st nodeState) []*Node {
	out := make([]*Node, 0, len(f.q)-f.head)
	for _, n := range f.q[f.head:] {
		if n.state == st {
			out = append(out, n)
		}
	}
	return out
}

func (d *DAG) orphanAdd(n *Node, r *Result) {
	n.state = stOrphan
	d.orphanQ.push(n)
	d.orphanN++
	d.orphanBytes += n.Env.Size()
	if !d.restoring {
		r.Evicted = d.orphanBound(r.Evicted)
	}
}

// orphanBound evicts the oldest orphans while the buffer is over its bounds,
// appending their ids to evicted.
func (d *DAG) orphanBound(evicted []msg.ID) []msg.ID {
	for d.orphanN > d.cfg.MaxOrphans || d.orphanBytes > d.cfg.MaxOrphanBytes {
		o := d.orphanQ.pop(stOrphan)
		if o == nil {
			panic("dag: orphan count out of step with the queue")
		}
		d.orphanDrop(o)
		evicted = append(evicted, o.Env.ID)
	}
	d.orphanQ.tidy(d.orphanN, stOrphan)
	return evicted
}

// Restoring lifts the orphan buffer's bounds while on, for a node rebuilding from
// its own store. The store keeps messages in the order they arrived, which can put
// many far ahead of their ancestors, and a rebuild holds every stored message in
// memory anyway: with the bounds in force it would drop messages the node holds.
// Turning it off applies the bounds again and gives the ids of the orphans that
// evicts, oldest first.
func (d *DAG) Restoring(on bool) []msg.ID {
	d.restoring = on
	if on {
		return nil
	}
	return d.orphanBound(nil)
}

// orphanDrop forgets an orphan, including its places in the waiting lists.
func (d *DAG) orphanDrop(o *Node) {
	unwait := func(id msg.ID) {
		ws, ok := d.waiting[id]
		if !ok {
			return
		}
		ws = slices.DeleteFunc(ws, func(w *Node) bool { return w == o })
		if len(ws) == 0 {
			delete(d.waiting, id)
		} else {
			d.waiting[id] = ws
		}
	}
	b := &o.Env.Body
	if b.Prev != nil {
		unwait(*b.Prev)
	}
	for _, p := range b.Parents {
		unwait(p)
	}
	d.orphanN--
	d.orphanBytes -= o.Env.Size()
	o.state = stEvicted
	d.idx.remove(&o.Env.ID)
}

func (d *DAG) unadmAdd(n *Node, r *Result) {
	n.state = stUnadmitted
	a := n.Env.Body.Author
	d.unadm[a] = append(d.unadm[a], n)
	d.unadmQ.push(n)
	d.unadmN++
	d.unadmBytes += n.Env.Size()
	for len(d.unadm[a]) > d.cfg.MaxUnadmittedPerAuthor {
		r.Evicted = append(r.Evicted, d.unadmEvict(d.unadm[a][0]))
	}
	for d.unadmBytes > d.cfg.MaxUnadmittedBytes {
		o := d.unadmQ.pop(stUnadmitted)
		if o == nil {
			panic("dag: unadmitted count out of step with the queue")
		}
		r.Evicted = append(r.Evicted, d.unadmEvict(o))
	}
	d.unadmQ.tidy(d.unadmN, stUnadmitted)
}

func (d *DAG) unadmEvict(n *Node) msg.ID {
	d.unadmRemove(n)
	n.state = stEvicted
	d.idx.remove(&n.Env.ID)
	return n.Env.ID
}

// unadmRemove takes n out of the unadmitted buffer; its queue entry dies with the
// state change.
func (d *DAG) unadmRemove(n *Node) {
	a := n.Env.Body.Author
	list := slices.DeleteFunc(d.unadm[a], func(x *Node) bool { return x == n })
	if len(list) == 0 {
		delete(d.unadm, a)
	} else {
		d.unadm[a] = list
	}
	d.unadmN--
	d.unadmBytes -= n.Env.Size()
	n.state = stNone
}

func deferLess(x, y *Node) int {
	if x.ts != y.ts {
		if x.ts < y.ts {
			return -1
		}
		return 1
	}
	return bytes.Compare(x.Env.ID[:], y.Env.ID[:])
}

// deferAdd queues a future message. Over the bound, the message furthest in the
// future goes first: it is the least useful now, and a flood of far-future messages
// cannot push out an honest one from a peer whose clock is slightly ahead.
func (d *DAG) deferAdd(n *Node) Result {
	r := Result{ID: n.Env.ID, Status: Deferred}
	n.state = stDeferred
	i, _ := slices.BinarySearchFunc(d.deferred, n, deferLess)
	d.deferred = slices.Insert(d.deferred, i, n)
	d.deferredBytes += n.Env.Size()
	for len(d.deferred) > d.cfg.MaxDeferred || d.deferredBytes > d.cfg.MaxDeferredBytes {
		o := d.deferred[len(d.deferred)-1]
		d.deferred[len(d.deferred)-1] = nil
		d.deferred = d.deferred[:len(d.deferred)-1]
		d.deferredBytes -= o.Env.Size()
		o.state = stEvicted
		d.idx.remove(&o.Env.ID)
		r.Evicted = append(r.Evicted, o.Env.ID)
	}
	return r
}

func envs(ns []*Node) []*msg.Envelope {
	out := make([]*msg.Envelope, len(ns))
	for i, n := range ns {
		out[i] = n.Env
	}
	return out
}

// Orphans gives the messages waiting for ancestors, oldest first.
func (d *DAG) Orphans() []*msg.Envelope { return envs(d.orphanQ.live(stOrphan)) }

// MissingIDs gives, sorted, the ids orphans wait for that are stored in no form:
// what sync should fetch.
func (d *DAG) MissingIDs() []msg.ID {
	var out []msg.ID
	for id := range d.waiting {
		if d.idx.get(&id) == nil {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b msg.ID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// Unadmitted gives the stored messages of an unadmitted author, oldest first.
func (d *DAG) Unadmitted(a msg.Account) []*msg.Envelope { return envs(d.unadm[a]) }

// UnadmittedAuthors lists, sorted, the authors with stored unadmitted messages.
func (d *DAG) UnadmittedAuthors() []msg.Account {
	out := make([]msg.Account, 0, len(d.unadm))
	for a := range d.unadm {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Deferred gives the future messages in (ts, id) order.
func (d *DAG) Deferred() []*msg.Envelope { return envs(d.deferred) }
