package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
)

// seriesColors are the plot's colours, by column.
var seriesColors = map[string]color.RGBA{
	"floor":       {40, 40, 40, 255},
	"proclet":     {31, 119, 180, 255},
	"pm2":         {214, 39, 40, 255},
	"supervisord": {255, 127, 14, 255},
	"s6":          {44, 160, 44, 255},
	"runit":       {148, 103, 189, 255},
}

// plot draws converge time against N, both on log scales, one line per
// peer and the floor, as a PNG: hand-drawn with image/png, no plotting
// dependency.
func (b *bench) plot(path string) error {
	const (
		w, h                     = 960, 600
		left, right, top, bottom = 90, 190, 60, 70
	)
	type pt struct{ n, v float64 }
	series := map[string][]pt{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range columns {
		for _, n := range b.cfg.Sizes {
			if v, ok := b.res.value(c, n, "converge_ms"); ok && v > 0 {
				series[c] = append(series[c], pt{float64(n), v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, 0, 0, w, h, color.White)
	ink := color.RGBA{30, 30, 30, 255}
	grid := color.RGBA{225, 225, 225, 255}
	drawText(img, left, 20, "cold converge: config -> n live (ms), log-log", 2, ink)
	if math.IsInf(lo, 1) {
		drawText(img, left, h/2, "no data", 2, ink)
		return writePNG(path, img)
	}
	y0, y1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if y1 == y0 {
		y1++
	}
	nmin, nmax := float64(b.cfg.Sizes[0]), float64(b.top())
	x0, x1 := math.Log10(nmin)-0.2, math.Log10(nmax)+0.2
	px := func(n float64) int {
		return left + int((math.Log10(n)-x0)/(x1-x0)*float64(w-left-right))
	}
	py := func(v float64) int {
		return h - bottom - int((math.Log10(v)-y0)/(y1-y0)*float64(h-top-bottom))
	}
	for d := y0; d <= y1; d++ {
		y := py(math.Pow(10, d))
		for x := left; x <= w-right; x++ {
			img.Set(x, y, grid)
		}
		label := strconv.FormatFloat(math.Pow(10, d), 'f', -1, 64)
		drawText(img, left-10-textWidth(label, 2), y-7, label, 2, ink)
	}
	for _, n := range b.cfg.Sizes {
		x := px(float64(n))
		for y := top; y <= h-bottom; y++ {
			img.Set(x, y, grid)
		}
		label := strconv.Itoa(n)
		drawText(img, x-textWidth(label, 2)/2, h-bottom+10, label, 2, ink)
	}
	for x := left; x <= w-right; x++ {
		img.Set(x, h-bottom, ink)
	}
	for y := top; y <= h-bottom; y++ {
		img.Set(left, y, ink)
	}
	drawText(img, (w-right+left)/2-textWidth("n instances", 2)/2, h-bottom+36, "n instances", 2, ink)
	legendY := top
	for _, c := range columns {
		pts := series[c]
		if len(pts) == 0 {
			continue
		}
		col := seriesColors[c]
		for i, p := range pts {
			x, y := px(p.n), py(p.v)
			fill(img, x-4, y-4, 9, 9, col)
			if i > 0 {
				line(img, px(pts[i-1].n), py(pts[i-1].v), x, y, col)
			}
		}
		fill(img, w-right+20, legendY+3, 24, 6, col)
		drawText(img, w-right+52, legendY, c, 2, col)
		legendY += 26
	}
	return writePNG(path, img)
}

// line draws a 3-pixel-wide line from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		fill(img, x-1, y-1, 3, 3, c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
