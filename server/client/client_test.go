package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeDaemon answers like proclet's API for the paths a test sets.
func fakeDaemon(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := routes[r.URL.Path]; ok {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"NotFound","message":"no such path: `+r.URL.Path+`"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func jsonAnswer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func TestClient_DecodesTypedAnswers(t *testing.T) {
	var gotQuery, gotAuth string
	srv := fakeDaemon(t, map[string]http.HandlerFunc{
		"/api/v1/apps": func(w http.ResponseWriter, r *http.Request) {
			gotAuth = r.Header.Get("Authorization")
			jsonAnswer(`{"items":[{"apiVersion":"proclet.dev/v1alpha1","kind":"App","metadata":{"name":"web"},`+
				`"spec":{"replicas":3,"command":["srv"]},"status":{"readyReplicas":2,"revision":"abc"}}]}`)(w, r)
		},
		"/api/v1/apps/web":           jsonAnswer(`{"metadata":{"name":"web"},"spec":{"command":["srv"]}}`),
		"/api/v1/apps/web/instances": jsonAnswer(`{"items":[{"name":"web-0","app":"web","pid":42,"ports":{"http":8000}}]}`),
		"/api/v1/instances":          jsonAnswer(`{"items":[{"name":"web-0"},{"name":"db-0"}]}`),
		"/api/v1/manifests":          jsonAnswer(`{"items":[{"path":"a.yaml","objects":["web"],"error":{"file":"a.yaml","line":3,"reason":"Invalid","message":"bad"}}]}`),
		"/api/v1/events": func(w http.ResponseWriter, r *http.Request) {
			gotQuery = r.URL.RawQuery
			jsonAnswer(`{"items":[{"time":"2026-01-02T03:04:05Z","type":"Warning","reason":"BackOff","object":"web-0","app":"web","message":"m"}]}`)(w, r)
		},
	})
	c := New(srv.URL+"/", "s3cret")
	ctx := t.Context()

	apps, err := c.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].Metadata.Name != "web" || *apps[0].Spec.Replicas != 3 || apps[0].Status.ReadyReplicas != 2 {
		t.Errorf("Apps = %+v", apps)
	}
	if gotAuth != "Bearer s3cret" {
		t.Errorf("Authorization = %q, want the Bearer key", gotAuth)
	}
	app, err := c.App(ctx, "web")
	if err != nil || app.Metadata.Name != "web" {
		t.Errorf("App = %+v, %v", app, err)
	}
	insts, err := c.Instances(ctx, "web")
	if err != nil || len(insts) != 1 || insts[0].PID != 42 || insts[0].Ports["http"] != 8000 {
		t.Errorf("Instances(web) = %+v, %v", insts, err)
	}
	all, err := c.Instances(ctx, "")
	if err != nil || len(all) != 2 {
		t.Errorf("Instances(\"\") = %+v, %v", all, err)
	}
	files, err := c.Manifests(ctx)
	if err != nil || len(files) != 1 || files[0].Error == nil || files[0].Error.Line != 3 {
		t.Errorf("Manifests = %+v, %v", files, err)
	}
	events, err := c.Events(ctx, "web", 20)
	if err != nil || len(events) != 1 || events[0].Reason != "BackOff" || events[0].Time.Year() != 2026 {
		t.Errorf("Events = %+v, %v", events, err)
	}
	if gotQuery != "app=web&limit=20" {
		t.Errorf("events query = %q", gotQuery)
	}
}

func TestClient_LogsQuery(t *testing.T) {
	var got string
	srv := fakeDaemon(t, map[string]http.HandlerFunc{
		"/api/v1/apps/web/instances/web-1/logs": func(w http.ResponseWriter, r *http.Request) {
			got = r.URL.RawQuery
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "one\ntwo\n")
		},
	})
	c := New(srv.URL, "")
	for _, tc := range []struct {
		name   string
		stream string
		tail   int
		follow bool
		want   string
	}{
		{"defaults", "", -1, false, ""},
		{"everything", "stderr", 10, true, "follow=true&stream=stderr&tail=10"},
		{"tail zero", "stdout", 0, false, "stream=stdout&tail=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := c.Logs(t.Context(), "web", "web-1", tc.stream, tc.tail, tc.follow)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			body, _ := io.ReadAll(rc)
			if string(body) != "one\ntwo\n" {
				t.Errorf("body = %q", body)
			}
			if got != tc.want {
				t.Errorf("query = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClient_Errors(t *testing.T) {
	srv := fakeDaemon(t, map[string]http.HandlerFunc{
		"/api/v1/apps": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		},
		"/api/v1/instances": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream exploded", http.StatusBadGateway)
		},
		"/api/v1/apps/web/instances/web-0/logs": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"NotFound","message":"instance \"web-0\" not found"}}`)
		},
	})
	ctx := t.Context()

	t.Run("401 without a key", func(t *testing.T) {
		_, err := New(srv.URL, "").Apps(ctx)
		if err == nil || err.Error() != "unauthorized: set PROCLET_API_KEY" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("401 with a key never shows it", func(t *testing.T) {
		_, err := New(srv.URL, "hunter2").Apps(ctx)
		var ue *UnauthorizedError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("404 JSON message", func(t *testing.T) {
		_, err := New(srv.URL, "").App(ctx, "nope")
		if err == nil || err.Error() != `no such path: /api/v1/apps/nope` || !IsNotFound(err) {
			t.Errorf("err = %v", err)
		}
		_, err = New(srv.URL, "").Logs(ctx, "web", "web-0", "", -1, false)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "NotFound" || ae.Message != `instance "web-0" not found` {
			t.Errorf("logs err = %#v", err)
		}
	})
	t.Run("non-JSON error shows status and body", func(t *testing.T) {
		_, err := New(srv.URL, "").Instances(ctx, "")
		want := "proclet at " + srv.URL + " answered 502 Bad Gateway: upstream exploded"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		_, err := New(url, "").Apps(ctx)
		want := "cannot reach proclet at " + url + ": is the daemon running? (set --server or PROCLET_SERVER)"
		var ue *UnreachableError
		if err == nil || err.Error() != want || !errors.As(err, &ue) || ue.Err == nil {
			t.Errorf("err = %v, want %s", err, want)
		}
	})
	t.Run("a cancelled context is not unreachable", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := New(srv.URL, "").Apps(cctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestNew_AddsScheme(t *testing.T) {
	if got := New("127.0.0.1:9090/", "").BaseURL(); got != "http://127.0.0.1:9090" {
		t.Errorf("BaseURL = %q", got)
	}
	if got := New("https://h:1", "").BaseURL(); got != "https://h:1" {
		t.Errorf("BaseURL = %q", got)
	}
}
