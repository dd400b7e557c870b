package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
)

// mail is one code the simulated web system e-mailed (websim --mailbox).
type mail struct {
	Code      string    `json:"code"`
	SentAt    time.Time `json:"sent_at"`
	MessageID string    `json:"message_id"`
	To        string    `json:"to"`
}

// mailbox collects the simulated system's e-mails; it is the websim's
// Mailbox writer (one JSON line per e-mail).
type mailbox struct {
	mu     sync.Mutex
	buf    []byte
	mails  []mail
	notify chan struct{}
}

func newMailbox() *mailbox { return &mailbox{notify: make(chan struct{}, 1)} }

func (m *mailbox) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = append(m.buf, p...)
	for {
		i := bytes.IndexByte(m.buf, '\n')
		if i < 0 {
			break
		}
		var ml mail
		if err := json.Unmarshal(m.buf[:i], &ml); err == nil {
			m.mails = append(m.mails, ml)
		}
		m.buf = m.buf[i+1:]
	}
	select {
	case m.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

// next waits for a mail sent at or after since.
func (m *mailbox) next(ctx context.Context, since time.Time) (mail, error) {
	for {
		m.mu.Lock()
		for i := len(m.mails) - 1; i >= 0; i-- {
			if !m.mails[i].SentAt.Before(since.Add(-time.Second)) {
				ml := m.mails[i]
				m.mu.Unlock()
				return ml, nil
			}
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return mail{}, fmt.Errorf("no code e-mailed: %w", ctx.Err())
		case <-m.notify:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// appsScript stands in for the Apps Script: it signs a code and posts it to
// CompleteLogin as CONTRACT section 4 says, retrying 404, 5xx and network
// errors with backoff until the code is 10 minutes old.
type appsScript struct {
	url    string
	secret []byte
}

type webhookBody struct {
	Code       string `json:"code"`
	ReceivedAt string `json:"received_at"`
	MessageID  string `json:"message_id"`
	Source     string `json:"source"`
}

func (a *appsScript) post(ctx context.Context, b webhookBody, receivedAt time.Time) error {
	body, _ := json.Marshal(b)
	wait := 500 * time.Millisecond
	for {
		status, msg, err := a.postOnce(ctx, body)
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err == nil && status != http.StatusNotFound && status < 500:
			return fmt.Errorf("CompleteLogin answered %d: %s", status, msg)
		case time.Since(receivedAt) > 10*time.Minute:
			return fmt.Errorf("code too old; last answer %d %v", status, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func (a *appsScript) postOnce(ctx context.Context, body []byte) (int, string, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OTP-Timestamp", ts)
	req.Header.Set("X-OTP-Signature", webhook.Sign(a.secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}

// prompt asks a person for the code on the terminal.
func prompt(ctx context.Context, in io.Reader, out io.Writer) (string, error) {
	fmt.Fprint(out, "Enter the code the web system e-mailed you: ")
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(in).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case s := <-line:
		return s, nil
	}
}
