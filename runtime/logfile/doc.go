// Package logfile writes an instance's output to its log files,
// <state-dir>/logs/<app>/<instance>.<stream>.log (Path), one line of
// output a line in the CRI log format (cri.go: the time it was read, the
// stream, F or P), rotated by size between lines, with a line too long cut
// into P pieces; from a buffer (Write) or from a pipe it peeked at, taking
// the bytes out of the pipe once written (WriteFrom). It also reads that
// format back (ParseLine, Plain: older files without prefixes too) and
// deletes the files of gone instances (Sweep).
//
// A File opens its file on the first write and keeps it open only while
// it is written: the Files of one OpenFiles (openfiles.go) share a bound
// on how many are open, the least recently written closed first, and
// CloseIdle closes those not written for a while; a closed File goes on
// where its file ends, as if it had stayed open.
//
// It owns the files and their rotation only: it must never block the
// instance on the daemon's disk (a write error is logged once and the
// data dropped, still drained from the pipe), never read from an
// instance's FIFO on its own (runtime/exec's output poller does), and
// never import runtime/exec.
package logfile
