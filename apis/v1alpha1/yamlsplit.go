package v1alpha1

import (
	"bytes"
	"runtime"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// A YAML stream of many documents is parsed on every core: go-yaml reads
// one stream on one core, and its parse was a third of the CPU of decoding
// a 1000-app file, the part that the cores decoding the documents waited
// for. The stream is cut into parts at lines that start a document
// ("---" at the start of a line, then a space, a tab or the line's end:
// the YAML scanner takes that for a document start wherever it stands,
// and ends any scalar before it), each part is parsed alone with its
// lines shifted to the stream's, and the documents are those the stream
// gives. Any error in any part, or a stream with directives (a "%" line)
// or carriage returns, takes the one parse of the whole stream instead,
// so every error is the stream's own; so does an alias whose anchor is in
// another part (go-yaml refuses an unknown anchor).

// splitYAML returns the parts of data for parsing each alone and the line
// each starts on, or nil when data is not cut (too few documents, one
// core, a directive or a carriage return).
func splitYAML(data []byte, maxParts int) (parts [][]byte, lines []int) {
	if maxParts < 2 || bytes.IndexByte(data, '\r') >= 0 {
		return nil, nil
	}
	var starts []int // byte offsets of document start lines
	line, startLines := 1, []int(nil)
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		l := data[off : off+end]
		if len(l) > 0 && l[0] == '%' {
			return nil, nil
		}
		if off > 0 && bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			starts, startLines = append(starts, off), append(startLines, line)
		}
		off += end + 1
		line++
	}
	if len(starts) < parallelDocs {
		return nil, nil
	}
	per := (len(starts) + maxParts - 1) / maxParts
	from, fromLine := 0, 1
	for i := per; i < len(starts); i += per {
		parts, lines = append(parts, data[from:starts[i]]), append(lines, fromLine)
		from, fromLine = starts[i], startLines[i]
	}
	return append(parts, data[from:]), append(lines, fromLine)
}

// parseYAMLParts parses data cut by splitYAML on up to workers cores; ok
// is false when a part fails (parseYAML then parses the whole stream).
func parseYAMLParts(parts [][]byte, lines []int, workers int) (docs []document, ok bool) {
	out := make([][]document, len(parts))
	failed := make([]bool, len(parts))
	next := make(chan int, len(parts))
	for i := range parts {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(workers, len(parts)) {
		wg.Go(func() {
			for i := range next {
				out[i], failed[i] = parsePart(parts[i], lines[i]-1)
			}
		})
	}
	wg.Wait()
	for i := range out {
		if failed[i] {
			return nil, false
		}
		docs = append(docs, out[i]...)
	}
	return docs, true
}

// parsePart parses one part whose first line is line shift+1 of the
// stream; failed when go-yaml refused it or panicked.
func parsePart(data []byte, shift int) (docs []document, failed bool) {
	defer func() {
		if recover() != nil {
			docs, failed = nil, true
		}
	}()
	docs, err := parseYAMLStream(data, func(n *yaml.Node) { shiftLines(n, shift) })
	return docs, err != nil
}

// shiftLines adds shift to the line of n and of every node under it (an
// alias's target is under the document too: it is not followed).
func shiftLines(n *yaml.Node, shift int) {
	n.Line += shift
	for _, c := range n.Content {
		shiftLines(c, shift)
	}
}

// yamlWorkers is how many cores parse a stream's parts.
func yamlWorkers() int { return runtime.GOMAXPROCS(0) }
