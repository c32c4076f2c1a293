// Package notify delivers the notifications that the store's outbox holds (new, reopened and
// resolved findings, written in the same transaction as the audit) to receivers: a generic JSON
// webhook and a Slack-compatible incoming webhook. A Dispatcher claims batches per receiver,
// sends many notifications as one digest message, and marks them delivered, or failed with an
// exponential backoff, so nothing is lost while a receiver is down and the audit loop never
// waits for one.
package notify

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"redoubt.dev/redoubt/internal/store"
)

// Receiver is one notification destination: what the store should queue for it, and how a batch
// is turned into the body of one HTTP POST.
type Receiver interface {
	// Store is the receiver as the outbox knows it: name, minimum severity, resolved or not.
	Store() store.Receiver
	// Encode renders a batch (one or more notifications) as one message body.
	Encode(ns []store.Notification) ([]byte, error)
	// Post sends one encoded body; an error means it was not accepted and must be retried.
	Post(ctx context.Context, body []byte) error
}

// ErrTooLarge is returned (wrapped) by Encode when a message would exceed the body limit; the
// dispatcher then sends the batch in smaller pieces.
var ErrTooLarge = errors.New("message larger than the body limit")

// recordURL is the API address of a stored finding, or "" without a base URL.
func recordURL(base, id string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/api/v1/findings/" + url.PathEscape(id)
}
