package watchers

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	src := "# comment\nA=1\nexport B='two words'\n\nC=\"multi\nline\"\nD=${A}x\nA=last\n"
	vals, err := parseEnvFile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	for _, v := range vals {
		got[v.Name] = v.Value.Reveal()
		names = append(names, v.Name)
	}
	want := map[string]string{"A": "last", "B": "two words", "C": "multi\nline", "D": "1x"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if strings.Join(names, ",") != "A,B,C,D" {
		t.Errorf("names %v, want sorted A,B,C,D", names)
	}
}

func TestParseEnvFileErrorsNameTheLineNotTheContent(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"bad name", "A=1\nB=2\nBAD-NAME=s3cr3t\nC=3\n", 3, "unexpected character"},
		{"bad name after a multi-line value", "A=\"one\ntwo\nthree\"\n# x\nX@Y=s3cr3t\n", 5, "unexpected character"},
		{"unterminated quote", "A=1\n\n# note\nB=\"s3cr3t\nC=2\n", 4, "unterminated quoted value"},
		{"unterminated after a closed multi-line value", "A=\"x\ny\"\nB='s3cr3t\n", 3, "unterminated quoted value"},
		{"crlf", "A=1\r\nB@=s3cr3t\r\n", 2, "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseEnvFile([]byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			want := "line " + strconv.Itoa(tt.line) + ": "
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want %q... %q", err, want, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the content: %q", err)
			}
		})
	}
}

func TestParseEnvFileBounds(t *testing.T) {
	big := "A=1\nBIG=" + strings.Repeat("x", 64<<10+1) + "\n"
	_, err := parseEnvFile([]byte(big))
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: \"BIG\": the value has 65537 bytes, over the bound of 65536") {
		t.Errorf("over the value bound: %v", err)
	}
	if strings.Contains(err.Error(), "xxxx") {
		t.Error("the error shows the value")
	}
	if _, err := parseEnvFile([]byte(strings.Repeat("x", 64<<10) + "=ok\n")); err != nil {
		t.Errorf("a 64 KiB name: %v", err)
	}
}
