package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// CertReloader serves the API's TLS certificate from a certificate file
// and a key file (PEM), and picks up a new pair when either file changes:
// cert-manager, certbot and the like replace them in place, and the
// daemon keeps running. Each handshake stats both files (two stat calls);
// when their inode, size or mtime moved since the pair in use was loaded,
// the pair is loaded again. A new pair that does not load (half written,
// a key of another certificate) leaves the one in use serving, is logged
// once per change of the files, and is tried again at their next change.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	// OnError, when set, is told of each change of the files that did not
	// load, instead of the log (the daemon records an event, which logs).
	// Set it before the first handshake.
	OnError func(error)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // of the files the last load attempt read
	lastErr error
}

// fileStamp is what tells that a file was replaced or rewritten.
type fileStamp struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

// NewCertReloader loads the pair once: an error names the file and what
// is wrong with it. log, when not nil, gets the reloads and their errors.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := c.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cert, c.stamp = cert, stamp
	return c, nil
}

// GetCertificate is tls.Config.GetCertificate: the pair in use, reloaded
// first when the files changed.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	stamp, err := c.stamps()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || stamp == c.stamp {
		if err != nil && (c.lastErr == nil || c.lastErr.Error() != err.Error()) {
			c.lastErr = err
			c.log.Error("TLS certificate files unreadable; serving the certificate loaded before", "err", err)
		}
		return c.cert, nil
	}
	c.stamp = stamp
	cert, err := c.load()
	if err != nil {
		c.lastErr = err
		if c.OnError != nil {
			c.OnError(err)
		} else {
			c.log.Error("new TLS certificate not loaded; serving the one loaded before", "err", err)
		}
		return c.cert, nil
	}
	c.cert, c.lastErr = cert, nil
	c.log.Info("TLS certificate reloaded", "cert_file", c.certFile, "serial", cert.Leaf.SerialNumber.String(),
		"not_after", cert.Leaf.NotAfter)
	return c.cert, nil
}

// LastError is why the last change of the files was not loaded, or nil
// once a pair loaded since.
func (c *CertReloader) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// TLSConfig is the server's TLS configuration: TLS 1.2 at least, the
// certificate from c.
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

func (c *CertReloader) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file %s, --tls-key-file %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--tls-cert-file %s: %w", c.certFile, err)
		}
	}
	return &cert, nil
}

func (c *CertReloader) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return out, err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return out, errors.New("no inode for " + name)
		}
		out[i] = fileStamp{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime()}
	}
	return out, nil
}
