package sqlite

// migrations[i] takes the schema from version i to i+1. Never edit one that has shipped: add
// the next. Times are Unix nanoseconds (UTC); findings keep their whole JSON in data and copy
// the fields queries filter on into columns.
var migrations = []string{
	// 1: findings with history, scans, image inventories, the image-scan queue.
	`CREATE TABLE scans (
	id INTEGER PRIMARY KEY,
	scope TEXT NOT NULL,
	started INTEGER NOT NULL,
	finished INTEGER NOT NULL,
	findings INTEGER NOT NULL,
	new INTEGER NOT NULL,
	reopened INTEGER NOT NULL,
	resolved INTEGER NOT NULL,
	note TEXT NOT NULL
);
CREATE INDEX scans_scope ON scans (scope, id);
CREATE TABLE findings (
	id TEXT PRIMARY KEY,
	scope TEXT NOT NULL,
	state TEXT NOT NULL,
	suppressed INTEGER NOT NULL,
	supp TEXT NOT NULL,
	phase TEXT NOT NULL,
	severity INTEGER NOT NULL,
	check_id TEXT NOT NULL,
	namespace TEXT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	digest TEXT NOT NULL,
	search TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	resolved_at INTEGER,
	hash TEXT NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX findings_scope ON findings (scope, state);
CREATE INDEX findings_order ON findings (severity DESC, id);
CREATE INDEX findings_namespace ON findings (namespace, name);
CREATE INDEX findings_check ON findings (check_id);
CREATE INDEX findings_digest ON findings (digest);
CREATE TABLE scopes (
	scope TEXT PRIMARY KEY,
	last_audit INTEGER NOT NULL,
	last_scan INTEGER NOT NULL
);
CREATE TABLE events (
	seq INTEGER PRIMARY KEY,
	finding_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	at INTEGER NOT NULL,
	scan_id INTEGER NOT NULL,
	suppression TEXT
);
CREATE INDEX events_finding ON events (finding_id, seq);
CREATE TABLE images (
	digest TEXT PRIMARY KEY,
	refs TEXT NOT NULL,
	report TEXT NOT NULL,
	scanned_at INTEGER NOT NULL,
	matched_at INTEGER NOT NULL,
	db_version TEXT NOT NULL
);
CREATE TABLE scan_queue (
	digest TEXT PRIMARY KEY,
	ref TEXT NOT NULL,
	enqueued_at INTEGER NOT NULL,
	not_before INTEGER NOT NULL,
	owner TEXT NOT NULL,
	lease_until INTEGER NOT NULL,
	attempts INTEGER NOT NULL
);
CREATE INDEX scan_queue_ready ON scan_queue (enqueued_at, digest);
`,
	// 2: exceptions added through the API (POST /api/v1/exceptions).
	`CREATE TABLE exceptions (
	id TEXT PRIMARY KEY,
	data TEXT NOT NULL,
	expires INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX exceptions_created ON exceptions (created_at, id);
`,
	// 3: notification delivery state: the receivers and their outbox.
	`CREATE TABLE receivers (
	name TEXT PRIMARY KEY,
	min_severity INTEGER NOT NULL,
	resolved INTEGER NOT NULL
);
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,
	receiver TEXT NOT NULL,
	finding_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	scan_id INTEGER NOT NULL,
	created INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	next_try INTEGER NOT NULL,
	lease_until INTEGER NOT NULL,
	owner TEXT NOT NULL,
	last_error TEXT NOT NULL,
	delivered_at INTEGER
);
CREATE INDEX outbox_due ON outbox (receiver, delivered_at, id);
`,
}
