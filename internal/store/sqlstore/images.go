package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/store"
)

// PutImage stores (replaces) an image digest's inventory.
func (s *DB) PutImage(ctx context.Context, img *store.Image) error {
	if img == nil || img.Digest == "" {
		return fmt.Errorf("store: an image needs a digest")
	}
	refs, err := json.Marshal(img.Refs)
	if err != nil {
		return fmt.Errorf("image %s: encode refs: %w", img.Digest, err)
	}
	report, err := json.Marshal(img.Report)
	if err != nil {
		return fmt.Errorf("image %s: encode report: %w", img.Digest, err)
	}
	return s.inTx(ctx, false, func(tx Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO images (digest, refs, report, scanned_at, matched_at, db_version) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (digest) DO UPDATE SET refs = excluded.refs, report = excluded.report, scanned_at = excluded.scanned_at, matched_at = excluded.matched_at, db_version = excluded.db_version`,
			img.Digest, string(refs), string(report), nanos(img.ScannedAt), nanos(img.MatchedAt), img.DBVersion)
		if err != nil {
			return s.wrap(fmt.Errorf("store image %s: %w", img.Digest, err))
		}
		return nil
	})
}

const imageCols = `digest, refs, report, scanned_at, matched_at, db_version`

func scanImage(rows Rows) (*store.Image, error) {
	img := &store.Image{}
	var refs, report string
	var scanned, matched int64
	if err := rows.Scan(&img.Digest, &refs, &report, &scanned, &matched, &img.DBVersion); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(refs), &img.Refs); err != nil {
		return nil, fmt.Errorf("image %s: stored refs are not readable: %w", img.Digest, err)
	}
	if report != "null" {
		img.Report = new(image.Report)
		if err := json.Unmarshal([]byte(report), img.Report); err != nil {
			return nil, fmt.Errorf("image %s: stored report is not readable: %w", img.Digest, err)
		}
	}
	img.ScannedAt, img.MatchedAt = fromNanos(scanned), fromNanos(matched)
	return img, nil
}

// Image returns one stored image by digest.
func (s *DB) Image(ctx context.Context, digest string) (*store.Image, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+imageCols+` FROM images WHERE digest = ?`, digest)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("image %s: %w", digest, err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.wrap(fmt.Errorf("image %s: %w", digest, err))
		}
		return nil, fmt.Errorf("image %s: %w", digest, store.ErrNotFound)
	}
	img, err := scanImage(rows)
	if err != nil {
		return nil, s.wrap(err)
	}
	return img, nil
}

// imagesPage is how many inventories Images reads at once: enough to keep round trips few,
// few enough that a thousand large inventories are never in memory together.
const imagesPage = 16

// Images calls fn for every stored image in digest order. It reads a page at a time and holds
// no cursor open while fn runs, so fn may write to the store (re-matching stores findings). The
// next page is read and decoded while fn works on this one: decoding is most of the cost, and
// overlapping it with fn's matching uses a second core.
func (s *DB) Images(ctx context.Context, fn func(*store.Image) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []*store.Image, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		errc <- s.readImages(ctx, pages)
	}()
	for page := range pages {
		for _, img := range page {
			if err := fn(img); err != nil {
				cancel()
				for range pages { // let the reader see the cancellation and finish
				}
				<-errc
				return err
			}
		}
	}
	return <-errc
}

// readImages sends every stored image to pages, a page at a time, until ctx is done.
func (s *DB) readImages(ctx context.Context, pages chan<- []*store.Image) error {
	after := ""
	for {
		rows, err := s.conn.Query(ctx, `SELECT `+imageCols+` FROM images WHERE digest > ? ORDER BY digest LIMIT ?`, after, imagesPage)
		if err != nil {
			return s.wrap(fmt.Errorf("images: %w", err))
		}
		var page []*store.Image
		for rows.Next() {
			img, err := scanImage(rows)
			if err != nil {
				rows.Close()
				return s.wrap(err)
			}
			page = append(page, img)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s.wrap(fmt.Errorf("images: %w", err))
		}
		if len(page) == 0 {
			return nil
		}
		select {
		case pages <- page:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(page) < imagesPage {
			return nil
		}
		after = page[len(page)-1].Digest
	}
}
