package v1alpha1

import (
	"fmt"
	"net/netip"
	"strconv"
)

// SocketSpec is a listening TCP socket the daemon binds once and hands to
// every instance of the app (socket activation, systemd's protocol: fds
// from 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). Every replica accepts on
// the same address, so a fixed port gets rollouts with surge.
type SocketSpec struct {
	// Name is the socket's name in LISTEN_FDNAMES.
	Name string `json:"name" validate:"required,portname"`
	// Port is the TCP port, 1-65535.
	Port int32 `json:"port" validate:"required,min=1,max=65535"`
	// Host is the IP address to bind: DefaultSocketHost when empty,
	// "0.0.0.0" or "::" for every address.
	Host string `json:"host,omitempty" validate:"nonul"`
}

const (
	// DefaultSocketHost is the address a socket binds without a host.
	DefaultSocketHost = "127.0.0.1"
	// MaxSockets bounds spec.sockets: each one is an fd of every instance
	// and of the daemon.
	MaxSockets = 16
)

// Address is host:port as the socket binds it (the defaulted host).
func (s SocketSpec) Address() string {
	host := s.Host
	if host == "" {
		host = DefaultSocketHost
	}
	return netip.AddrPortFrom(netip.MustParseAddr(validHost(host)), uint16(s.Port)).String()
}

// validHost returns host when it parses as an IP address, else the
// default (Address is only called on validated specs).
func validHost(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		return host
	}
	return DefaultSocketHost
}

func defaultSockets(s *AppSpec) {
	for i := range s.Sockets {
		if s.Sockets[i].Host == "" {
			s.Sockets[i].Host = DefaultSocketHost
		}
	}
}

// sockets checks what the tags of SocketSpec cannot: the bound, unique
// names and ports, an IP host, and no overlap with spec.ports.
func (r *ruleSet) sockets(s *AppSpec) {
	if len(s.Sockets) > MaxSockets {
		r.add("spec.sockets", "has %d entries, over the bound of %d", len(s.Sockets), MaxSockets)
	}
	names, ports := map[string]int{}, map[int32]int{}
	for i, k := range s.Sockets {
		path := fmt.Sprintf("spec.sockets[%d]", i)
		if j, ok := names[k.Name]; ok && k.Name != "" {
			r.add(path+".name", "%s is already the name of spec.sockets[%d]", quote(k.Name), j)
		} else {
			names[k.Name] = i
		}
		if k.Host != "" {
			if a, err := netip.ParseAddr(k.Host); err != nil || a.Zone() != "" {
				r.add(path+".host", "%s is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1)", quote(k.Host))
			}
		}
		if k.Port < 1 || k.Port > 65535 {
			continue // the tags report it
		}
		if j, ok := ports[k.Port]; ok {
			r.add(path+".port", "%d is already the port of spec.sockets[%d]", k.Port, j)
		} else {
			ports[k.Port] = i
		}
		for j, p := range s.Ports {
			lo, hi, err := p.Bounds()
			if err == nil && lo <= k.Port && k.Port <= hi {
				r.add(path+".port", "%d is also spec.ports[%d] (%s): the daemon listens on a socket's port itself",
					k.Port, j, quote(portText(p)))
			}
		}
	}
}

func portText(p PortSpec) string {
	if p.Range != "" {
		return p.Range
	}
	return strconv.Itoa(int(p.Port))
}
