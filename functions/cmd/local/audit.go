package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// audit looks for every secret of the run (password, API token, webhook
// secret, seal key, e-mailed codes, session tokens) in clear in the
// functions' logs and in every message published on Pub/Sub. It returns
// where each leak was found, naming the kind of secret, never its value.
func (e *env) audit() ([]string, error) {
	secrets := map[string]string{
		"webhook secret": string(e.secret),
		"seal key":       os.Getenv("TOKEN_SEAL_KEY"),
	}
	if e.sim != nil {
		o := e.sim.Options()
		secrets["password"], secrets["api token"] = o.Password, o.APIToken
		for i, m := range e.sim.Mails() {
			secrets[fmt.Sprintf("code #%d", i+1)] = m.Code
		}
	}
	for i, t := range e.meter.IssuedTokens() {
		secrets[fmt.Sprintf("session token #%d", i+1)] = t
	}
	logs, err := os.ReadFile(e.logPath)
	if err != nil {
		return nil, fmt.Errorf("read function logs: %w", err)
	}
	places := map[string][]byte{"function logs": logs}
	for _, m := range e.psrv.Messages() {
		var attrs strings.Builder
		for k, v := range m.Attributes {
			attrs.WriteString(k + "=" + v + ";")
		}
		places["Pub/Sub message "+m.ID] = append(append([]byte(nil), m.Data...), attrs.String()...)
	}
	var leaks []string
	for kind, value := range secrets {
		if len(value) < 4 {
			continue
		}
		forms := [][]byte{[]byte(value), []byte(base64.StdEncoding.EncodeToString([]byte(value)))}
		for where, text := range places {
			for _, f := range forms {
				if contains(text, f) {
					leaks = append(leaks, kind+" in "+where)
					break
				}
			}
		}
	}
	return leaks, nil
}

// contains finds f in text; an all-digit f (a code) only as a whole number,
// so that a timestamp's digits do not count as a leak.
func contains(text, f []byte) bool {
	digits := bytes.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' }) < 0
	for i := 0; ; {
		j := bytes.Index(text[i:], f)
		if j < 0 {
			return false
		}
		j += i
		if !digits || (!isDigit(text, j-1) && !isDigit(text, j+len(f))) {
			return true
		}
		i = j + 1
	}
}

func isDigit(b []byte, i int) bool { return i >= 0 && i < len(b) && b[i] >= '0' && b[i] <= '9' }
