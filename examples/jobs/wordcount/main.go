// Command wordcount is a Guild job: it counts lines, words and bytes of stdin
// and the occurrences of each word (lower-cased letters and digits), printing the
// totals and the most frequent words, most frequent first and ties in byte order.
// The first argument is how many words to list (default 10).
// Build: GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	top := 10
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "wordcount: the list length must be a non-negative integer")
			os.Exit(2)
		}
		top = n
	}
	counts := map[string]int{}
	lines, words, bytes := 0, 0, 0
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		lines++
		bytes += len(line) + 1
		for _, w := range strings.FieldsFunc(line, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			words++
			counts[strings.ToLower(w)]++
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
	type wc struct {
		w string
		n int
	}
	list := make([]wc, 0, len(counts))
	for w, n := range counts {
		list = append(list, wc{w, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].w < list[j].w
	})
	fmt.Printf("lines %d\nwords %d\nbytes %d\ndistinct %d\n", lines, words, bytes, len(counts))
	for i := 0; i < top && i < len(list); i++ {
		fmt.Printf("%d %s\n", list[i].n, list[i].w)
	}
}
