package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultMaxBody bounds one message body; DefaultTimeout one POST, response included.
const (
	DefaultMaxBody = 1 << 20
	DefaultTimeout = 10 * time.Second
)

// maxResponse is how much of a receiver's answer is read (and quoted in errors).
const maxResponse = 4 << 10

// poster POSTs JSON bodies to one URL with an optional extra header (a bearer token).
type poster struct {
	name    string
	url     string
	header  string // header name, e.g. Authorization
	value   string // its value, e.g. "Bearer abc"
	timeout time.Duration
	maxBody int
	client  *http.Client
}

func (p *poster) Post(ctx context.Context, body []byte) error {
	if len(body) > p.maxBody {
		return fmt.Errorf("receiver %s: %w (%d > %d bytes)", p.name, ErrTooLarge, len(body), p.maxBody)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("receiver %s: %w", p.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "redoubt-notify/1")
	if p.header != "" {
		req.Header.Set(p.header, p.value)
	}
	client := p.client
	if client == nil {
		// A receiver that redirects is a failure, never followed (a POST turned into a GET, or a
		// request with a token sent somewhere else).
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL may hold a secret (Slack's does): say which receiver, not where.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("receiver %s: POST failed: %w", p.name, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver %s: HTTP %d: %s", p.name, resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}
