// Command inflate decompresses gzip files to nowhere with the decompressor
// nsscope uses (klauspost/compress/gzip), one stream at a time: the floor a
// cold scan of a layer cannot go below on one core. bench/run.sh times it
// on an image's largest layer.
//
//	go run ./bench/inflate layer.tar.gz
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: inflate FILE.gz...")
		os.Exit(2)
	}
	for _, p := range os.Args[1:] {
		n, err := inflate(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "inflate: %s: %v\n", p, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d bytes\n", p, n)
	}
}

func inflate(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	return io.Copy(io.Discard, zr)
}
