package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
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

var (
	ink  = color.RGBA{30, 30, 30, 255}
	grid = color.RGBA{225, 225, 225, 255}
)

// panel is one log-log chart of a metric against N: a line per column
// that has it.
type panel struct {
	title  string
	metric string
	// floorAt, when set, draws the floor's metric at that size (0: the
	// size-less figure) as a dashed level across the chart: a floor
	// that does not grow with N, such as one exec of the workload.
	floorAt    int
	floorOf    string
	floorLabel string
}

// growthPanels are the figures that grow with N, drawn into growth.png.
var growthPanels = []panel{
	{title: "steady: supervisor cpu (% of a core)", metric: "steady_cpu_pct"},
	{title: "steady: supervisor rss (mib)", metric: "steady_rss_mib"},
	{title: "kill -9 -> new pid, p50 (ms)", metric: "crash_p50_ms", floorAt: 0, floorOf: "restart_ms",
		floorLabel: "floor: kill -9 + one exec, bare Go loop"},
	{title: "get /api/v1/instances, p50 (ms)", metric: "api_instances_p50_ms"},
	{title: "get /metrics, p50 (ms)", metric: "metrics_p50_ms"},
	{title: "stop all (ms)", metric: "stop_ms"},
}

// plot draws converge time against N, both on log scales, one line per
// peer and the floor, as a PNG: hand-drawn with image/png, no plotting
// dependency.
func (b *bench) plot(path string) error {
	const w, h = 960, 600
	img := newCanvas(w, h)
	b.drawPanel(img, image.Rect(0, 0, w-190, h),
		panel{title: "cold converge: config -> n live (ms), log-log", metric: "converge_ms"})
	b.drawLegend(img, w-170, 60, func(c string) bool { return b.hasSeries(c, "converge_ms") })
	return writePNG(path, img)
}

// plotGrowth draws growthPanels side by side, three a row, with one
// legend above them.
func (b *bench) plotGrowth(path string) error {
	const pw, ph, top, cols = 620, 420, 70, 3
	rows := (len(growthPanels) + cols - 1) / cols
	img := newCanvas(pw*cols, top+ph*rows)
	drawText(img, 20, 14, "cost against n instances, log-log (a missing point: not measured, or 0)", 2, ink)
	x := 20
	for _, c := range columns {
		if !b.hasAnySeries(c) {
			continue
		}
		fill(img, x, 47, 24, 6, seriesColors[c])
		drawText(img, x+32, 40, c, 2, seriesColors[c])
		x += 32 + textWidth(c, 2) + 30
	}
	for i, p := range growthPanels {
		x0, y0 := (i%cols)*pw, top+(i/cols)*ph
		b.drawPanel(img, image.Rect(x0, y0, x0+pw, y0+ph), p)
	}
	return writePNG(path, img)
}

type pt struct{ n, v float64 }

// seriesOf is column c's positive values of metric, by size.
func (b *bench) seriesOf(c, metric string) []pt {
	var out []pt
	for _, n := range b.cfg.Sizes {
		if v, ok := b.res.value(c, n, metric); ok && v > 0 {
			out = append(out, pt{float64(n), v})
		}
	}
	return out
}

func (b *bench) hasSeries(c, metric string) bool { return len(b.seriesOf(c, metric)) > 0 }

func (b *bench) hasAnySeries(c string) bool {
	for _, p := range growthPanels {
		if b.hasSeries(c, p.metric) {
			return true
		}
	}
	return b.hasSeries(c, "converge_ms")
}

// drawPanel draws p into r of img: title, log axes with their labels, a
// line per column, the floor's level when p has one.
func (b *bench) drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	const left, right, top, bottom = 110, 20, 50, 70
	drawText(img, r.Min.X+left, r.Min.Y+16, p.title, 2, ink)
	series := map[string][]pt{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range columns {
		series[c] = b.seriesOf(c, p.metric)
		for _, q := range series[c] {
			lo, hi = math.Min(lo, q.v), math.Max(hi, q.v)
		}
	}
	level, hasLevel := b.res.value("floor", p.floorAt, p.floorOf)
	if hasLevel = hasLevel && level > 0 && p.floorOf != ""; hasLevel {
		lo, hi = math.Min(lo, level), math.Max(hi, level)
	}
	if math.IsInf(lo, 1) {
		drawText(img, r.Min.X+left, r.Min.Y+r.Dy()/2, "not measured", 2, ink)
		return
	}
	ax := logAxes{x0: r.Min.X + left, x1: r.Max.X - right, y0: r.Max.Y - bottom, y1: r.Min.Y + top,
		nlo: float64(b.cfg.Sizes[0]), nhi: float64(b.top()), vlo: lo, vhi: hi}
	ax.draw(img, b.cfg.Sizes)
	if hasLevel {
		y := ax.py(level)
		for x := ax.x0; x < ax.x1; x += 12 {
			fill(img, x, y-1, 6, 3, seriesColors["floor"])
		}
		drawText(img, ax.x1-4-textWidth(p.floorLabel, 2), y+8, p.floorLabel, 2, seriesColors["floor"])
	}
	var zero []string
	for _, c := range columns {
		pts := series[c]
		col := seriesColors[c]
		for i, q := range pts {
			x, y := ax.px(q.n), ax.py(q.v)
			fill(img, x-4, y-4, 9, 9, col)
			if i > 0 {
				line(img, ax.px(pts[i-1].n), ax.py(pts[i-1].v), x, y, col)
			}
		}
		if v, ok := b.res.value(c, b.top(), p.metric); ok && v == 0 {
			zero = append(zero, c)
		}
	}
	if len(zero) > 0 {
		drawText(img, ax.x0+6, ax.y1+4, "0, not drawn: "+strings.Join(zero, ", "), 2, ink)
	}
}

// logAxes maps N and a value onto a chart, both on log scales.
type logAxes struct {
	x0, x1, y0, y1     int // y0 the bottom
	nlo, nhi, vlo, vhi float64
	d0, d1             float64 // the decades of the value axis
}

func (a *logAxes) px(n float64) int {
	l0, l1 := math.Log10(a.nlo)-0.2, math.Log10(a.nhi)+0.2
	return a.x0 + int((math.Log10(n)-l0)/(l1-l0)*float64(a.x1-a.x0))
}

func (a *logAxes) py(v float64) int {
	return a.y0 - int((math.Log10(v)-a.d0)/(a.d1-a.d0)*float64(a.y0-a.y1))
}

// draw draws the grid, its labels (every decade, and 2 and 5 within it
// when the values span two decades or less) and the axes.
func (a *logAxes) draw(img *image.RGBA, sizes []int) {
	a.d0, a.d1 = math.Floor(math.Log10(a.vlo)), math.Ceil(math.Log10(a.vhi))
	if a.d1 == a.d0 {
		a.d1++
	}
	steps := []float64{1}
	if a.d1-a.d0 <= 2 {
		steps = []float64{1, 2, 5}
	}
	for d := a.d0; d <= a.d1; d++ {
		for _, s := range steps {
			v := s * math.Pow(10, d)
			if math.Log10(v) > a.d1+1e-9 {
				break
			}
			y := a.py(v)
			for x := a.x0; x <= a.x1; x++ {
				img.Set(x, y, grid)
			}
			label := strconv.FormatFloat(v, 'f', -1, 64)
			drawText(img, a.x0-10-textWidth(label, 2), y-7, label, 2, ink)
		}
	}
	for _, n := range sizes {
		x := a.px(float64(n))
		for y := a.y1; y <= a.y0; y++ {
			img.Set(x, y, grid)
		}
		label := strconv.Itoa(n)
		drawText(img, x-textWidth(label, 2)/2, a.y0+10, label, 2, ink)
	}
	for x := a.x0; x <= a.x1; x++ {
		img.Set(x, a.y0, ink)
	}
	for y := a.y1; y <= a.y0; y++ {
		img.Set(a.x0, y, ink)
	}
	drawText(img, (a.x0+a.x1)/2-textWidth("n instances", 2)/2, a.y0+36, "n instances", 2, ink)
}

// drawLegend lists the columns shown, one a line from (x, y).
func (b *bench) drawLegend(img *image.RGBA, x, y int, shown func(string) bool) {
	for _, c := range columns {
		if !shown(c) {
			continue
		}
		fill(img, x, y+3, 24, 6, seriesColors[c])
		drawText(img, x+32, y, c, 2, seriesColors[c])
		y += 26
	}
}

func newCanvas(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, 0, 0, w, h, color.White)
	return img
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
