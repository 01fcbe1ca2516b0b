package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// WithCACertFile makes c trust the CA certificates (PEM) in path for an
// https:// daemon, instead of the system's roots, and returns c. A file
// that cannot be read or holds no certificate makes every request fail
// with an error naming it. "" changes nothing. Call it before c is used.
func (c *Client) WithCACertFile(path string) *Client {
	if path == "" {
		return c
	}
	pool, err := loadCAs(path)
	if err != nil {
		c.http.Transport = failingTransport{&cacertError{err}}
		return c
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.http.Transport = t
	return c
}

func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cacert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// cacertError is a --cacert file that cannot be used.
type cacertError struct{ err error }

func (e *cacertError) Error() string { return e.err.Error() }
func (e *cacertError) Unwrap() error { return e.err }

// tlsProblem is err said for a user when it is about TLS (the CA file,
// the daemon's certificate, plain HTTP on one side), else nil.
func tlsProblem(base string, err error) error {
	var (
		ce  *cacertError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &ua):
		return fmt.Errorf("proclet at %s: its certificate is signed by an unknown authority: give the CA's certificate with --cacert or PROCLET_CACERT", base)
	case errors.As(err, &he), errors.As(err, &ci):
		return fmt.Errorf("proclet at %s: its certificate is not valid: %w", base, err)
	case errors.As(err, &rhe), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("proclet at %s does not speak TLS: use http:// (or give the daemon --tls-cert-file)", base)
	}
	return nil
}

// failingTransport answers every request with err.
type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }
