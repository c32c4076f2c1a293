package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/store"
)

// Slack's documented limits for an incoming-webhook message built of Block Kit blocks.
const (
	slackMaxBlocks     = 50
	slackMaxHeader     = 150  // characters of a header block's plain_text
	slackMaxSection    = 3000 // characters of a section block's text
	slackMaxContext    = 2000
	slackListedPerPost = 20 // findings listed one by one; the rest are counted
)

// SlackMessage is the body of a Slack incoming-webhook POST: text is the notification and
// fallback text, blocks the layout.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section, divider or context block.
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a text object: plain_text or mrkdwn.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Slack sends a readable Slack-compatible message.
type Slack struct {
	poster
	rcv     store.Receiver
	baseURL string
}

// Store implements Receiver.
func (s *Slack) Store() store.Receiver { return s.rcv }

// Encode implements Receiver.
func (s *Slack) Encode(ns []store.Notification) ([]byte, error) {
	m := slackMessage(ns, s.baseURL)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("receiver %s: encoding the Slack message: %w", s.rcv.Name, err)
	}
	if len(b) > s.maxBody {
		return nil, fmt.Errorf("receiver %s: %d notifications: %w (%d > %d bytes)", s.rcv.Name, len(ns), ErrTooLarge, len(b), s.maxBody)
	}
	return b, nil
}

func slackMessage(ns []store.Notification, base string) SlackMessage {
	sum := summarize(ns)
	var title string
	if len(ns) == 1 {
		n := ns[0]
		title = fmt.Sprintf("Redoubt: %s %s finding %s", n.Kind, n.Record.Finding.Severity, n.Record.Finding.Check)
	} else {
		var parts []string
		for _, p := range []struct {
			n    int
			what string
		}{{sum.Opened, "new"}, {sum.Reopened, "reopened"}, {sum.Resolved, "resolved"}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
			}
		}
		title = fmt.Sprintf("Redoubt: %s findings", strings.Join(parts, ", "))
	}
	m := SlackMessage{Text: title}
	m.Blocks = append(m.Blocks, SlackBlock{Type: "header", Text: &SlackText{Type: "plain_text", Text: clip(title, slackMaxHeader)}})
	if len(ns) > 1 {
		var sev []string
		for _, s := range []string{"critical", "high", "medium", "low", "unknown", "info"} {
			if c := sum.BySeverity[s]; c > 0 {
				sev = append(sev, fmt.Sprintf("%d %s", c, s))
			}
		}
		m.Blocks = append(m.Blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: clip(escape(strings.Join(sev, " · ")), slackMaxContext)}}})
	}
	m.Blocks = append(m.Blocks, SlackBlock{Type: "divider"})
	listed := min(len(ns), slackListedPerPost)
	for _, n := range ns[:listed] {
		m.Blocks = append(m.Blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: slackLine(n, base)}})
	}
	if rest := len(ns) - listed; rest > 0 {
		more := fmt.Sprintf("… and %d more", rest)
		if base != "" {
			more += fmt.Sprintf(": <%s|all findings>", strings.TrimRight(base, "/")+"/api/v1/findings")
		}
		m.Blocks = append(m.Blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: more}}})
	}
	return m
}

// slackLine renders one change: what happened, how bad, which check, where, and the message.
func slackLine(n store.Notification, base string) string {
	f := n.Record.Finding
	verb := map[store.EventKind]string{store.EventOpened: "New", store.EventReopened: "Reopened", store.EventResolved: "Resolved"}[n.Kind]
	if verb == "" {
		verb = escape(string(n.Kind))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* · *%s* · `%s` · %s\n", verb, f.Severity, escape(f.Check), escape(f.Resource.String()))
	msg := f.Message
	if msg == "" {
		msg = f.Title
	}
	if u := recordURL(base, n.Record.ID); u != "" {
		tail := fmt.Sprintf("\n<%s|record %s>", u, n.Record.ID)
		b.WriteString(clip(escape(msg), slackMaxSection-b.Len()-len(tail)))
		b.WriteString(tail)
		return b.String()
	}
	b.WriteString(clip(escape(msg), slackMaxSection-b.Len()))
	return b.String()
}

// escape makes text safe inside mrkdwn: Slack asks for &, < and > to be escaped.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens s to at most n characters (runes), ending with an ellipsis when it cut.
func clip(s string, n int) string {
	if n <= 1 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
