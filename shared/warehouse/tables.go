package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

// Partitioning and clustering of the tickets table (CONTRACT section 6).
var (
	ticketsPartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "criado_em_utc"}
	ticketsClustering   = &bigquery.Clustering{Fields: []string{"status", "mesa", "cliente"}}
)

// EnsureTables creates the dataset, the tickets table (partitioned by day of
// criado_em_utc, clustered by status, mesa, cliente) and the sync_runs table
// (small, neither partitioned nor clustered) when they are missing. An
// existing table is left as it is, but an error names any column of the
// schema files it lacks.
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
		if missing := missingColumns(md.Schema, t.md.Schema); len(missing) > 0 {
			return fmt.Errorf("table %s lacks columns %s of the schema file", t.name, strings.Join(missing, ", "))
		}
	}
	return nil
}

func missingColumns(have, want bigquery.Schema) []string {
	got := make(map[string]bool, len(have))
	for _, f := range have {
		got[f.Name] = true
	}
	var missing []string
	for _, f := range want {
		if !got[f.Name] {
			missing = append(missing, f.Name)
		}
	}
	return missing
}

// isStatus reports whether err is a BigQuery API error with that HTTP status.
func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}
