package notify

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// slackCheck validates a body against Slack's documented incoming-webhook format with Block Kit
// (api.slack.com/messaging/webhooks, /reference/block-kit/blocks): a top-level text (the
// notification fallback) and at most 50 blocks; header blocks hold plain_text of at most 150
// characters, section blocks a text object of at most 3000, context blocks 1 to 10 text
// elements; in mrkdwn, &, < and > are escaped except in <url|label> links. It returns the
// blocks' texts.
func slackCheck(t *testing.T, body []byte) (text string, blocks []map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for k := range m {
		if k != "text" && k != "blocks" {
			t.Errorf("unexpected top-level field %q", k)
		}
	}
	if err := json.Unmarshal(m["text"], &text); err != nil || text == "" {
		t.Errorf("top-level text %s: want a non-empty string", m["text"])
	}
	if err := json.Unmarshal(m["blocks"], &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	if len(blocks) == 0 || len(blocks) > 50 {
		t.Errorf("%d blocks, Slack takes 1 to 50", len(blocks))
	}
	textObj := func(where string, v any, types ...string) string {
		o, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: not a text object: %v", where, v)
			return ""
		}
		typ, _ := o["type"].(string)
		s, _ := o["text"].(string)
		if !strings.Contains(strings.Join(types, ","), typ) || typ == "" || s == "" {
			t.Errorf("%s: text object %v, want type in %v and a text", where, o, types)
		}
		if typ == "mrkdwn" {
			bare := regexp.MustCompile(`<https?://[^|<>]+\|[^<>]+>`).ReplaceAllString(s, "")
			bare = regexp.MustCompile(`&(amp|lt|gt);`).ReplaceAllString(bare, "")
			if strings.ContainsAny(bare, "<>&") {
				t.Errorf("%s: unescaped &, < or > in mrkdwn %q", where, s)
			}
		}
		return s
	}
	for i, b := range blocks {
		switch b["type"] {
		case "header":
			if s := textObj("header", b["text"], "plain_text"); utf8.RuneCountInString(s) > 150 {
				t.Errorf("header of %d characters", utf8.RuneCountInString(s))
			}
		case "section":
			if s := textObj("section", b["text"], "mrkdwn", "plain_text"); utf8.RuneCountInString(s) > 3000 {
				t.Errorf("section %d of %d characters", i, utf8.RuneCountInString(s))
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				t.Errorf("context block with %d elements", len(els))
			}
			for _, e := range els {
				textObj("context element", e, "mrkdwn", "plain_text")
			}
		case "divider":
			if len(b) != 1 {
				t.Errorf("divider with fields %v", b)
			}
		default:
			t.Errorf("block %d of type %v", i, b["type"])
		}
	}
	return text, blocks
}

func notif(id int64, kind store.EventKind, f finding.Finding) store.Notification {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return store.Notification{ID: id, Kind: kind, Created: now, Record: store.Record{
		ID: store.Fingerprint(&f), State: store.StateOpen, Finding: f, FirstSeen: now, LastSeen: now}}
}

func sectionTexts(blocks []map[string]any) []string {
	var out []string
	for _, b := range blocks {
		if b["type"] == "section" {
			out = append(out, b["text"].(map[string]any)["text"].(string))
		}
	}
	return out
}

func TestSlackShape(t *testing.T) {
	nasty := mk("privileged-container", "web", finding.Critical)
	nasty.Message = "runs <script>alert(1)</script> & more " + strings.Repeat("long ", 1000)
	one := []store.Notification{notif(1, store.EventOpened, nasty)}
	var digest []store.Notification
	for i, f := range many(100, finding.High) {
		digest = append(digest, notif(int64(i+1), store.EventOpened, f))
	}
	digest[0].Kind, digest[1].Kind = store.EventResolved, store.EventReopened

	for _, tc := range []struct {
		name     string
		base     string
		ns       []store.Notification
		header   string
		sections int
		link     bool
		more     string
	}{
		{"one with a base URL", "https://redoubt.example.test/", one, "Redoubt: opened critical finding privileged-container", 1, true, ""},
		{"one without", "", one, "Redoubt: opened critical finding privileged-container", 1, false, ""},
		{"digest of 100", "https://redoubt.example.test", digest, "Redoubt: 98 new, 1 reopened, 1 resolved findings", 20, true, "… and 80 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := NewSlack(store.Receiver{Name: "chat"}, "http://127.0.0.1:1/hook", tc.base, time.Second).Encode(tc.ns)
			if err != nil {
				t.Fatal(err)
			}
			text, blocks := slackCheck(t, body)
			if text != tc.header || blocks[0]["type"] != "header" || blocks[0]["text"].(map[string]any)["text"] != tc.header {
				t.Errorf("text %q, first block %v; want the header %q", text, blocks[0], tc.header)
			}
			secs := sectionTexts(blocks)
			if len(secs) != tc.sections {
				t.Fatalf("%d sections, want %d", len(secs), tc.sections)
			}
			first := tc.ns[0]
			if !strings.Contains(secs[0], "`"+first.Record.Finding.Check+"`") || !strings.Contains(secs[0], first.Record.Finding.Resource.String()) {
				t.Errorf("section %q does not name the check and the workload", secs[0])
			}
			wantLink := "<https://redoubt.example.test/api/v1/findings/" + first.Record.ID + "|record "
			if strings.Contains(secs[0], wantLink) != tc.link {
				t.Errorf("section %q: link %q present = %v, want %v", secs[0], wantLink, !tc.link, tc.link)
			}
			if tc.more != "" && !strings.Contains(string(body), tc.more) {
				t.Errorf("the digest does not say %q", tc.more)
			}
		})
	}
}

// A Slack receiver, end to end: what reaches a loopback incoming webhook is Slack's format.
func TestSlackDelivered(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	sl := NewSlack(store.Receiver{Name: "chat", MinSeverity: finding.High}, k.srv.URL, "", 2*time.Second)
	d, err := NewDispatcher(t.Context(), s, []Receiver{sl}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, many(3, finding.Critical)...)
	start(t, d)
	waitFor(t, 5*time.Second, "the Slack message", func() bool { return k.count() == 1 })
	text, blocks := slackCheck(t, k.msgs[0])
	if text != "Redoubt: 3 new findings" || len(sectionTexts(blocks)) != 3 {
		t.Errorf("text %q with %d sections", text, len(sectionTexts(blocks)))
	}
}
