package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// gzipPieces writes valid gzip of any length, in writes of any size: a
// reader gets the input back and its CRC-32 and size check out (it reads
// to EOF); an input of one piece is what gzip.Writer writes, byte for byte.
func TestGzipPieces_ValidGzip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []byte { // text with repeats, as an exposition
		var b bytes.Buffer
		for b.Len() < n {
			fmt.Fprintf(&b, "proclet_instance_up{app=\"a%d\",replica=\"a%d-0\"} %d\n", rng.IntN(5000), rng.IntN(9), rng.IntN(2))
		}
		return b.Bytes()[:n]
	}
	for _, n := range []int{0, 1, 4096, gzipPiece - 1, gzipPiece, gzipPiece + 1, 2 * gzipPiece, 7*gzipPiece/2 + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := text(n)
			var out bytes.Buffer
			z := newGzipPieces(&out)
			for p := in; len(p) > 0; {
				k := min(len(p), 1+rng.IntN(200_000))
				if w, err := z.Write(p[:k]); w != k || err != nil {
					t.Fatalf("Write: %d, %v", w, err)
				}
				p = p[k:]
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("reading %d bytes back: %v", n, err)
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("read back %d bytes, differing from the %d written", len(got), n)
			}
			if n >= gzipPiece {
				return
			}
			var want bytes.Buffer
			gz, _ := gzip.NewWriterLevel(&want, gzip.BestSpeed)
			_, _ = gz.Write(in)
			_ = gz.Close()
			if !bytes.Equal(out.Bytes(), want.Bytes()) {
				t.Errorf("one piece: %d bytes, gzip.Writer's %d, not the same", out.Len(), want.Len())
			}
		})
	}
}

// A scrape of several pieces, gzipped, is the plain scrape.
func TestMetricsHandler_GzipOfSeveralPieces(t *testing.T) {
	f := &metricsFake{}
	var apps []v1alpha1.App
	var insts []v1alpha1.Instance
	for a := range 2000 {
		name := fmt.Sprintf("app-%d", a)
		apps = append(apps, metricsApp(name, 1, 1, 1, a%2 == 0))
		insts = append(insts, runningInstance(name, 0, 1000+a, float64(a)/3, uint64(a)<<12))
	}
	f.set(apps, insts)
	h := NewMetricsHandler(loopRegistry(), NewCollector(f.sources()))
	plain := scrape(t, h, "")
	if len(plain) < 2*gzipPiece {
		t.Fatalf("the scrape is %d bytes, want several pieces", len(plain))
	}
	for range 2 { // the second reuses the pooled pieces and compressors
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != plain {
			t.Fatalf("gunzipped %d bytes, differing from the %d of the plain scrape", len(body), len(plain))
		}
	}
}
