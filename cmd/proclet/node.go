package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"proclet.dev/proclet/reconciler"
	"proclet.dev/proclet/server"
)

// checkRemoteAccess refuses a --listen beyond loopback that would expose
// the API unprotected, unless --insecure-allow-remote: without
// --api-key-file anyone who reaches the address reads the API (the
// instances' logs and environment included); with keys but without TLS
// the keys cross the network in clear.
func (c *daemonConfig) checkRemoteAccess() error {
	if (c.tlsCertFile == "") != (c.tlsKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-key-file go together: give both or neither")
	}
	if isLoopback(c.listen) || c.insecureAllowRemote {
		return nil
	}
	if c.apiKeyFile == "" {
		return fmt.Errorf("--listen %s is not a loopback address and no --api-key-file is given: anyone who can reach it "+
			"could read the API; give --api-key-file with --tls-cert-file and --tls-key-file, or --insecure-allow-remote to serve it anyway", c.listen)
	}
	if c.tlsCertFile == "" {
		return fmt.Errorf("--listen %s is not a loopback address: API keys over plain HTTP would cross the network in clear; "+
			"give --tls-cert-file and --tls-key-file, or --insecure-allow-remote to serve plain HTTP anyway", c.listen)
	}
	return nil
}

// checkAdvertiseAddress refuses an --advertise-address that is not
// host:port.
func (c *daemonConfig) checkAdvertiseAddress() error {
	if c.advertiseAddress == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.advertiseAddress)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("--advertise-address: %q is not host:port (e.g. 10.0.0.5:9090 or node-a.lan:9090)", c.advertiseAddress)
	}
	return nil
}

// advertiseAddress is the host:port the daemon says it is reached at:
// --advertise-address when given; else --listen, with bound (the address
// the listener got) for its port when --listen asked for port 0; else,
// for a --listen on every address (0.0.0.0, ::, or no host), the first
// address the host name resolves to that is not loopback, IPv4 first;
// else an error naming --advertise-address.
func advertiseAddress(listen, advertise string, bound net.Addr, hostname string, lookup func(string) ([]net.IP, error)) (string, error) {
	if advertise != "" {
		return advertise, nil
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ta, ok := bound.(*net.TCPAddr); ok && (port == "0" || port == "") {
		port = strconv.Itoa(ta.Port)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return net.JoinHostPort(host, port), nil
	}
	ips, err := lookup(hostname)
	var pick net.IP
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() {
			continue
		}
		if pick == nil || (pick.To4() == nil && ip.To4() != nil) {
			pick = ip
		}
	}
	if pick == nil {
		why := ""
		if err != nil {
			why = " (" + err.Error() + ")"
		}
		return "", fmt.Errorf("--listen %s listens on every address and the host name %q resolves to no address beyond loopback%s: "+
			"give --advertise-address host:port", listen, hostname, why)
	}
	return net.JoinHostPort(pick.String(), port), nil
}

// newTLSConfig is the API's TLS configuration from --tls-cert-file and
// --tls-key-file (nil without them): the pair loaded now (an error names
// the files), reloaded when they change; a change that does not load is
// a Warning event TLSCertificateNotLoaded of the certificate file, and the
// last good pair keeps serving.
func newTLSConfig(cfg daemonConfig, log *slog.Logger, rec *reconciler.Reconciler) (*tls.Config, error) {
	if cfg.tlsCertFile == "" {
		return nil, nil
	}
	certs, err := server.NewCertReloader(cfg.tlsCertFile, cfg.tlsKeyFile, log.With("component", "server"))
	if err != nil {
		return nil, err
	}
	certs.OnError = func(err error) {
		rec.Warn(cfg.tlsCertFile, "TLSCertificateNotLoaded", "new TLS certificate not loaded, serving the one loaded before: "+err.Error())
	}
	return certs.TLSConfig(), nil
}

// nodeName is --node-name, else the host name.
func nodeName(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("--node-name not given and the host name is unknown (%v): give --node-name", err)
	}
	return h, nil
}
