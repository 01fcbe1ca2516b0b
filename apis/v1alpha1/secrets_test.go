package v1alpha1

import (
	"strings"
	"testing"
)

// The secret parts of the files below: none may appear in an error.
const (
	apiKey  = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
	pemBody = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	awsID   = "AKIAIOSFODNN7EXAMPLE"
	awsKey  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	passwd  = "correct-horse-battery-staple-9"
)

// TestDecodeErrorsDoNotEchoSecrets feeds files that are not manifests (a
// key file, a PEM block, credentials, an env file) linked into the
// manifest folder under each extension, and manifests with a long value in
// the wrong place: the errors name file, line and field, and repeat none
// of the secret.
func TestDecodeErrorsDoNotEchoSecrets(t *testing.T) {
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + pemBody + "\nQyNTUxOQAAACDsecret\n-----END OPENSSH PRIVATE KEY-----\n"
	files := []string{
		apiKey,
		apiKey + "\n",
		`"` + apiKey + `"`,
		pem,
		"[default]\naws_access_key_id = " + awsID + "\naws_secret_access_key = " + awsKey + "\n",
		awsID + ": " + awsKey + "\n",
		"API_KEY=" + apiKey + "\nPASSWORD=" + passwd + "\n",
		"password: " + passwd + "\ntoken: " + apiKey + "\n",
		`{"` + apiKey + `": "` + passwd + `"}`,
		"[" + apiKey + "]\n",
		"[" + apiKey + "]\n[" + apiKey + "]\n",
		apiKey + " = 1\n" + apiKey + " = 2\n",
		"k: *" + apiKey + "\n",
		"- " + apiKey + "\n- " + passwd + "\n",
		apiKey + ": [1,\n",
		"key: '" + apiKey + "\n",
		`{"token": "` + apiKey + `" "x": 1}`,
		"root:$6$" + apiKey + ":19000:0:99999:7:::\n",
		// Manifests with a secret where it does not belong.
		minimal + "  " + apiKey + ": 1\n",
		minimal + "  replicas: " + apiKey + "\n",
		minimal + "  replicas: [" + passwd + "]\n",
		minimal + "  stopSignal: " + apiKey + "\n",
		minimal + "  restartBackoff: {initial: " + apiKey + "}\n",
		minimal + "  restartBackoff: {initial: {k: " + apiKey + "}}\n",
		minimal + "  env: [{name: " + apiKey + "/x, value: x}]\n",
		minimal + "  ports: [{name: " + apiKey + ", port: 80}]\n",
		minimal + "  resources: {limits: {memory: " + apiKey + "}}\n",
		minimal + "  strategy: {type: " + apiKey + "}\n",
		strings.Replace(minimal, "proclet.dev/v1alpha1", apiKey, 1),
		minimal + "  nodeSelector: {" + apiKey + "/: x}\n",
		minimal + "  " + strings.Repeat("9", 400) + ": 1\n",
		minimal + "  replicas: " + strings.Repeat("9", 400) + "\n",
	}
	secrets := []string{apiKey, pemBody, awsKey, passwd, strings.Repeat("9", 40),
		// A shorter secret is not repeated either when a file is not an App.
		awsID}
	for _, data := range files {
		for _, ext := range []string{".yaml", ".json", ".toml"} {
			_, err := DecodeFile("/m/secret"+ext, []byte(data))
			if err == nil {
				t.Errorf("%s decoded:\n%s", ext, data)
				continue
			}
			for _, e := range err.(ErrorList) {
				if e.File != "/m/secret"+ext {
					t.Errorf("error without its file: %v", e)
				}
			}
			msg := err.Error()
			for _, s := range secrets {
				if strings.Contains(msg, s) || strings.Contains(msg, s[:min(len(s), 24)]) {
					t.Errorf("%s error repeats a secret:\nfile: %q\nerror: %s", ext, data, msg)
				}
			}
		}
	}
}

// TestDecodeErrorsStillNameShortTokens: the redaction keeps what a user
// needs to fix a real manifest: a misspelt field and a short wrong value
// are named.
func TestDecodeErrorsStillNameShortTokens(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{minimal + "  replica: 3\n", `m.yaml:7: spec.replica: unknown field (did you mean "replicas"?)`},
		{minimal + "  replicas: three\n", `m.yaml:7: spec.replicas: want an integer, got a string "three"`},
		{minimal + "  stopSignal: SIGFOO\n", `m.yaml:7: spec.stopSignal: "SIGFOO" is not a signal name`},
		{apiKey + "\n", "m.yaml:1: want an object, got a string"},
		{"password: " + passwd + "\n", "m.yaml:1: not an App: none of apiVersion, kind, metadata, spec, status at the top level"},
		{minimal + "  " + apiKey + ": 1\n", "m.yaml:7: spec.<key of 40 bytes>: unknown field"},
		{minimal + "  stopSignal: " + apiKey + "\n", "m.yaml:7: spec.stopSignal: a value of 40 bytes is not a signal name"},
	} {
		_, err := DecodeFile("m.yaml", []byte(tc.data))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error = %v\nwant it to start with %s", err, tc.want)
		}
	}
}
