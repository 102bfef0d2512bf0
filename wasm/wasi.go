package wasm

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// WASI errno values used here.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNotsup  = 58
)

// Fake clocks, the same as wazero's: wall time starts at 2022-01-01T00:00:00Z and
// monotonic time at 0, and each reading advances its clock by one millisecond.
const (
	fakeEpochNanos = 1640995200000 * 1000000
	fakeTick       = 1000000
)

// Host-call fuel (WIRE §6): hostCallBase plus one per started 64 bytes moved.
const hostCallBase = 64

// DefaultOutputCap is the network's default output_cap_bytes (WIRE §7).
const DefaultOutputCap = 16 << 20

// exitSignal unwinds the guest on proc_exit.
type exitSignal struct{ code uint32 }

func (e *exitSignal) Error() string {
	return "proc_exit(" + strconv.FormatUint(uint64(e.code), 10) + ")"
}

// errOutputOverflow unwinds the guest when stdout passes the output cap.
var errOutputOverflow = errors.New("stdout passed the output cap")

// runState is the WASI world of one run: its stdio, argv, environment, clocks and
// random stream. Everything a job can observe is derived from the job itself.
type runState struct {
	input     []byte
	inPos     int
	stdout    []byte
	outCap    uint64
	stderr    []byte
	stderrCap int
	args      []string
	env       []string
	rand      io.Reader
	fuel      api.MutableGlobal // nil when running un-metered
	wallReads int64
	monoReads int64
	closed    [3]bool
}

// charge takes the fuel of one host call that moved n bytes.
func (s *runState) charge(n uint64) {
	if s.fuel == nil {
		return
	}
	f := int64(s.fuel.Get())
	f -= int64(hostCallBase + (n+63)/64)
	s.fuel.Set(uint64(f))
}

type hostFunc struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	fn      func(s *runState, mem api.Memory, st []uint64) (errno uint32, moved uint64)
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// runStateKey carries a run's *runState in the context its guest is called with;
// wazero hands that context to every host call, so one WASI host module in a
// shared runtime serves every run.
type runStateKey struct{}

func withRunState(ctx context.Context, s *runState) context.Context {
	return context.WithValue(ctx, runStateKey{}, s)
}

// instantiateWASI installs the 16 functions of WIRE §6 in rt. Each finds its run
// in the call's context and charges its fuel before returning, or before
// unwinding on proc_exit and output overflow.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(wasiModule)
	for _, h := range hostFuncs {
		h := h
		fn := func(ctx context.Context, mod api.Module, stack []uint64) {
			s, ok := ctx.Value(runStateKey{}).(*runState)
			if !ok {
				// Only the runner calls guests, always with a run state; a
				// call without one is a bug here, not a guest's doing.
				panic("wasm: host call without a run state")
			}
			errno, moved := h.fn(s, mod.Memory(), stack)
			if errno != errnoSuccess {
				moved = 0
			}
			s.charge(moved)
			if len(h.results) == 1 {
				stack[0] = uint64(errno)
			}
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(fn), h.params, h.results).Export(h.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

var hostFuncs = []hostFunc{
	{"args_sizes_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
		return sizesGet(s.args, mem, st)
	}},
	{"args_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
		return stringsGet(s.args, mem, st)
	}},
	{"environ_sizes_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
		return sizesGet(s.env, mem, st)
	}},
	{"environ_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
		return stringsGet(s.env, mem, st)
	}},
	{"clock_time_get", []api.ValueType{i32, i64, i32}, []api.ValueType{i32}, clockTimeGet},
	{"poll_oneoff", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, pollOneoff},
	{"sched_yield", nil, []api.ValueType{i32}, func(*runState, api.Memory, []uint64) (uint32, uint64) {
		return errnoSuccess, 0
	}},
	{"random_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, randomGet},
	{"proc_exit", []api.ValueType{i32}, nil, func(s *runState, _ api.Memory, st []uint64) (uint32, uint64) {
		s.charge(0)
		panic(&exitSignal{code: uint32(st[0])})
	}},
	{"fd_read", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, fdRead},
	{"fd_write", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, fdWrite},
	{"fd_close", []api.ValueType{i32}, []api.ValueType{i32}, func(s *runState, _ api.Memory, st []uint64) (uint32, uint64) {
		fd := uint32(st[0])
		if fd > 2 || s.closed[fd] {
			return errnoBadf, 0
		}
		s.closed[fd] = true
		return errnoSuccess, 0
	}},
	{"fd_fdstat_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, fdFdstatGet},
	{"fd_fdstat_set_flags", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(s *runState, _ api.Memory, st []uint64) (uint32, uint64) {
		fd := uint32(st[0])
		if fd > 2 || s.closed[fd] {
			return errnoBadf, 0
		}
		// Flags (Go sets O_NONBLOCK on stdio) change nothing: no call here blocks.
		return errnoSuccess, 0
	}},
	{"fd_prestat_get", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(*runState, api.Memory, []uint64) (uint32, uint64) {
		return errnoBadf, 0 // no preopens
	}},
	{"fd_prestat_dir_name", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, func(*runState, api.Memory, []uint64) (uint32, uint64) {
		return errnoBadf, 0
	}},
}

func sizesGet(list []string, mem api.Memory, st []uint64) (uint32, uint64) {
	size := 0
	for _, a := range list {
		size += len(a) + 1
	}
	if !mem.WriteUint32Le(uint32(st[0]), uint32(len(list))) || !mem.WriteUint32Le(uint32(st[1]), uint32(size)) {
		return errnoFault, 0
	}
	return errnoSuccess, 8
}

func stringsGet(list []string, mem api.Memory, st []uint64) (uint32, uint64) {
	ptrs, buf := uint32(st[0]), uint32(st[1])
	moved := uint64(0)
	for i, a := range list {
		if !mem.WriteUint32Le(ptrs+uint32(4*i), buf) {
			return errnoFault, 0
		}
		if !mem.WriteString(buf, a) || !mem.WriteByte(buf+uint32(len(a)), 0) {
			return errnoFault, 0
		}
		buf += uint32(len(a)) + 1
		moved += 4 + uint64(len(a)) + 1
	}
	return errnoSuccess, moved
}

func (s *runState) clock(id uint32) (uint64, bool) {
	switch id {
	case 0: // realtime
		t := fakeEpochNanos + s.wallReads*fakeTick
		s.wallReads++
		return uint64(t), true
	case 1: // monotonic
		t := s.monoReads * fakeTick
		s.monoReads++
		return uint64(t), true
	}
	return 0, false
}

func clockTimeGet(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	t, ok := s.clock(uint32(st[0]))
	if !ok {
		return errnoInval, 0
	}
	if !mem.WriteUint64Le(uint32(st[2]), t) {
		return errnoFault, 0
	}
	return errnoSuccess, 8
}

// pollOneoff answers every subscription at once: clocks have expired (the fake
// clocks never make a job wait) and stdio is always ready.
func pollOneoff(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	in, out, n, neventsPtr := uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])
	if n == 0 {
		return errnoInval, 0
	}
	subs, ok := mem.Read(in, n*48)
	if !ok || uint64(n)*48 > uint64(^uint32(0)) {
		return errnoFault, 0
	}
	if _, ok := mem.Read(out, n*32); !ok {
		return errnoFault, 0
	}
	for i := uint32(0); i < n; i++ {
		sub := subs[48*i : 48*i+48]
		var ev [32]byte
		copy(ev[0:8], sub[0:8]) // userdata
		tag := sub[8]
		ev[10] = tag
		errno := uint16(errnoSuccess)
		switch tag {
		case 0: // clock
			if id := uint32(sub[16]) | uint32(sub[17])<<8 | uint32(sub[18])<<16 | uint32(sub[19])<<24; id > 1 {
				errno = errnoInval
			}
		case 1, 2: // fd_read, fd_write
			fd := uint32(sub[16]) | uint32(sub[17])<<8 | uint32(sub[18])<<16 | uint32(sub[19])<<24
			if fd > 2 || s.closed[fd] || (tag == 1) != (fd == 0) {
				errno = errnoBadf
			}
		default:
			errno = errnoInval
		}
		ev[8], ev[9] = byte(errno), byte(errno>>8)
		mem.Write(out+32*i, ev[:])
	}
	if !mem.WriteUint32Le(neventsPtr, n) {
		return errnoFault, 0
	}
	return errnoSuccess, uint64(n)*(48+32) + 4
}

func randomGet(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	buf, n := uint32(st[0]), uint32(st[1])
	dst, ok := mem.Read(buf, n)
	if !ok {
		return errnoFault, 0
	}
	if _, err := io.ReadFull(s.rand, dst); err != nil {
		return errnoFault, 0 // the XOF never ends
	}
	return errnoSuccess, uint64(n)
}

// iovecs reads an iovec array: (pointer, length) pairs.
func iovecs(mem api.Memory, ptr, n uint32) ([][2]uint32, bool) {
	raw, ok := mem.Read(ptr, n*8)
	if !ok || uint64(n)*8 > uint64(^uint32(0)) {
		return nil, false
	}
	out := make([][2]uint32, n)
	for i := range out {
		b := raw[8*i:]
		out[i][0] = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		out[i][1] = uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
	}
	return out, true
}

func fdRead(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	fd, iovsPtr, iovsLen, nreadPtr := uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])
	if fd != 0 || s.closed[0] {
		return errnoBadf, 0
	}
	iovs, ok := iovecs(mem, iovsPtr, iovsLen)
	if !ok {
		return errnoFault, 0
	}
	for _, iov := range iovs {
		if _, ok := mem.Read(iov[0], iov[1]); !ok {
			return errnoFault, 0
		}
	}
	var nread uint64
	for _, iov := range iovs {
		dst, _ := mem.Read(iov[0], iov[1])
		k := copy(dst, s.input[s.inPos:])
		s.inPos += k
		nread += uint64(k)
		if k < len(dst) {
			break
		}
	}
	if !mem.WriteUint32Le(nreadPtr, uint32(nread)) {
		return errnoFault, 0
	}
	return errnoSuccess, 8*uint64(iovsLen) + nread + 4
}

func fdWrite(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	fd, iovsPtr, iovsLen, nwrittenPtr := uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])
	if fd < 1 || fd > 2 || s.closed[fd] {
		return errnoBadf, 0
	}
	iovs, ok := iovecs(mem, iovsPtr, iovsLen)
	if !ok {
		return errnoFault, 0
	}
	var total uint64
	for _, iov := range iovs {
		if _, ok := mem.Read(iov[0], iov[1]); !ok {
			return errnoFault, 0
		}
		total += uint64(iov[1])
	}
	moved := 8*uint64(iovsLen) + total + 4
	if fd == 1 && uint64(len(s.stdout))+total > s.outCap {
		for _, iov := range iovs {
			src, _ := mem.Read(iov[0], iov[1])
			room := s.outCap - uint64(len(s.stdout))
			if uint64(len(src)) > room {
				src = src[:room]
			}
			s.stdout = append(s.stdout, src...)
		}
		s.charge(moved)
		panic(errOutputOverflow)
	}
	for _, iov := range iovs {
		src, _ := mem.Read(iov[0], iov[1])
		if fd == 1 {
			s.stdout = append(s.stdout, src...)
		} else if room := s.stderrCap - len(s.stderr); room > 0 {
			if len(src) > room {
				src = src[:room]
			}
			s.stderr = append(s.stderr, src...)
		}
	}
	if !mem.WriteUint32Le(nwrittenPtr, uint32(total)) {
		return errnoFault, 0
	}
	return errnoSuccess, moved
}

func fdFdstatGet(s *runState, mem api.Memory, st []uint64) (uint32, uint64) {
	fd, ptr := uint32(st[0]), uint32(st[1])
	if fd > 2 || s.closed[fd] {
		return errnoBadf, 0
	}
	var stat [24]byte
	stat[0] = 2              // character device
	rights := uint64(1 << 1) // fd_read
	if fd != 0 {
		rights = 1 << 6 // fd_write
	}
	for i := 0; i < 8; i++ {
		stat[8+i] = byte(rights >> (8 * i))
	}
	if !mem.Write(ptr, stat[:]) {
		return errnoFault, 0
	}
	return errnoSuccess, 24
}
