package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

// Partitioning and clustering of the tickets table (CONTRACT section 6).
var (
	ticketsPartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "criado_em_utc"}
	ticketsClustering   = &bigquery.Clustering{Fields: []string{"situacao", "mesa", "cliente"}}
)

// EnsureTables creates the dataset, the tickets table (partitioned by day of
// criado_em_utc, clustered by situacao, mesa, cliente) and the sync_runs table
// (small, neither partitioned nor clustered) when they are missing.
//
// An existing table is migrated in place: the columns of the schema file it
// lacks are added (NULLABLE ones only, as BigQuery allows; their values are
// NULL in the rows already there), and the tickets table's clustering is set
// to the file's (BigQuery applies a new clustering to data written from then
// on). Nothing is dropped: a column the file no longer has stays. A missing
// REQUIRED column cannot be added, and is an error naming it.
func (w *Warehouse) EnsureTables(ctx context.Context) error {
	ds := w.c.Dataset(w.cfg.Dataset)
	// Look before creating: the emulator answers an existing dataset with a
	// 500, not a 409.
	if _, err := ds.Metadata(ctx); isStatus(err, http.StatusNotFound) {
		err = ds.Create(ctx, &bigquery.DatasetMetadata{Location: w.cfg.Location})
		if err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("create dataset %s: %w", w.cfg.Dataset, err)
		}
		w.log.Info("dataset created", "dataset", w.cfg.Dataset)
	} else if err != nil {
		return fmt.Errorf("read dataset %s: %w", w.cfg.Dataset, err)
	}
	tables := []struct {
		name string
		md   *bigquery.TableMetadata
	}{
		{w.cfg.Table, &bigquery.TableMetadata{Schema: TicketsSchema(),
			TimePartitioning: ticketsPartitioning, Clustering: ticketsClustering,
			Description: "One row per ticket, newest state (CONTRACT section 6)."}},
		{w.cfg.RunsTable, &bigquery.TableMetadata{Schema: RunsSchema(),
			Description: "One row per sync session (CONTRACT section 6)."}},
		{HistoryTable, historyTableMetadata()},
	}
	// Look before creating, so that tables Terraform made need no create
	// permission.
	for _, t := range tables {
		md, err := ds.Table(t.name).Metadata(ctx)
		if isStatus(err, http.StatusNotFound) {
			err = ds.Table(t.name).Create(ctx, t.md)
			if err == nil {
				w.log.Info("table created", "table", t.name)
				continue
			}
			if !isStatus(err, http.StatusConflict) {
				return fmt.Errorf("create table %s: %w", t.name, err)
			}
			md, err = ds.Table(t.name).Metadata(ctx)
		}
		if err != nil {
			return fmt.Errorf("read table %s: %w", t.name, err)
		}
		if err := w.migrate(ctx, ds.Table(t.name), md, t.md); err != nil {
			return fmt.Errorf("migrate table %s: %w", t.name, err)
		}
	}
	return nil
}

// migrate adds to the table the columns of want it lacks, and sets want's
// clustering when the table has another, in one metadata update guarded by
// the table's ETag (a concurrent update makes it re-read and try again).
func (w *Warehouse) migrate(ctx context.Context, t *bigquery.Table, md, want *bigquery.TableMetadata) error {
	for attempt := 0; ; attempt++ {
		missing := missingColumns(md.Schema, want.Schema)
		var required []string
		for _, f := range missing {
			if f.Required {
				required = append(required, f.Name)
			}
		}
		if len(required) > 0 {
			return fmt.Errorf("lacks the REQUIRED columns %s of the schema file, which cannot be added to an existing table",
				strings.Join(required, ", "))
		}
		recluster := want.Clustering != nil && (md.Clustering == nil || !slices.Equal(md.Clustering.Fields, want.Clustering.Fields))
		if len(missing) == 0 && !recluster {
			return nil
		}
		var upd bigquery.TableMetadataToUpdate
		if len(missing) > 0 {
			// tables.patch, as Terraform's provider and bq update do: on
			// BigQuery it adds NULLABLE columns in place. (The emulator
			// records them in the table's metadata only: EMULATOR.md.)
			upd.Schema = append(copySchema(md.Schema), missing...)
		}
		if recluster {
			upd.Clustering = want.Clustering
		}
		_, err := t.Update(ctx, upd, md.ETag)
		if err == nil {
			w.log.Info("table migrated", "table", t.TableID, "columns_added", len(missing),
				"columns", strings.Join(columns(missing), ","), "reclustered", recluster)
			return nil
		}
		if !isStatus(err, http.StatusPreconditionFailed) || attempt == 2 {
			return err
		}
		if md, err = t.Metadata(ctx); err != nil {
			return err
		}
	}
}

// missingColumns are the top-level fields of want that have lacks, by name.
func missingColumns(have, want bigquery.Schema) bigquery.Schema {
	got := make(map[string]bool, len(have))
	for _, f := range have {
		got[f.Name] = true
	}
	var missing bigquery.Schema
	for _, f := range want {
		if !got[f.Name] {
			c := *f
			missing = append(missing, &c)
		}
	}
	return missing
}

// isStatus reports whether err is a BigQuery API error with that HTTP status.
func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}
