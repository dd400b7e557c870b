package warehouse

import (
	"embed"
	"fmt"

	"cloud.google.com/go/bigquery"
)

// The schema files are the one source of truth for both tables: Terraform
// reads the same files.
//
//go:embed schema/*.json
var schemaFiles embed.FS

var (
	ticketsSchema = mustSchema("schema/tickets.json")
	runsSchema    = mustSchema("schema/sync_runs.json")
)

func mustSchema(name string) bigquery.Schema {
	b, err := schemaFiles.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("warehouse: embedded %s: %v", name, err))
	}
	s, err := bigquery.SchemaFromJSON(b)
	if err != nil {
		panic(fmt.Sprintf("warehouse: embedded %s is not a BigQuery schema: %v", name, err))
	}
	return s
}

// TicketsSchema is the schema of the tickets table (schema/tickets.json).
func TicketsSchema() bigquery.Schema { return copySchema(ticketsSchema) }

// RunsSchema is the schema of the sync_runs table (schema/sync_runs.json).
func RunsSchema() bigquery.Schema { return copySchema(runsSchema) }

func copySchema(s bigquery.Schema) bigquery.Schema {
	out := make(bigquery.Schema, len(s))
	for i, f := range s {
		c := *f
		out[i] = &c
	}
	return out
}

// columns lists the schema's field names in order.
func columns(s bigquery.Schema) []string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = f.Name
	}
	return names
}
