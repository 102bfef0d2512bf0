// Command hashpipe is a Guild job: it reads its input on stdin and writes a
// digest report: SHA-256, SHA-512, CRC-32 and FNV-1a of the input, then a
// SHA-256 chain of N rounds (h₀ = SHA-256(input), hᵢ = SHA-256(hᵢ₋₁)), N being
// the first argument (default 100000). It is compute-bound on purpose: the
// metering benchmark runs it. Build: GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false
package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"strconv"
)

func main() {
	rounds := 100000
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "hashpipe: rounds must be a non-negative integer")
			os.Exit(2)
		}
		rounds = n
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashpipe:", err)
		os.Exit(1)
	}
	s256 := sha256.Sum256(in)
	s512 := sha512.Sum512(in)
	f := fnv.New64a()
	f.Write(in)
	fmt.Printf("bytes %d\n", len(in))
	fmt.Printf("sha256 %x\n", s256)
	fmt.Printf("sha512 %x\n", s512)
	fmt.Printf("crc32 %08x\n", crc32.ChecksumIEEE(in))
	fmt.Printf("fnv1a64 %016x\n", f.Sum64())
	h := s256
	for i := 0; i < rounds; i++ {
		h = sha256.Sum256(h[:])
	}
	fmt.Printf("chain %d %x\n", rounds, h)
}
