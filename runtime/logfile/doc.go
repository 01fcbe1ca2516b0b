// Package logfile writes an instance's output to its log files,
// <state-dir>/logs/<app>/<instance>.<stream>.log (Path), rotated by size
// between lines, with a line too long cut into pieces ending in CutMark,
// from a buffer (Write) or straight from a pipe with splice(2) (WriteFrom).
//
// It owns the files and their rotation only: it must never block the
// instance on the daemon's disk (a write error is logged once and the
// data dropped, still drained from the pipe), never read from an
// instance's FIFO on its own (runtime/exec's output poller does), and
// never import runtime/exec.
package logfile
