# The warehouse of CONTRACT.md section 6. The schemas are the JSON files the Go
# code embeds (shared/warehouse/schema), so the two cannot drift apart.

locals {
  schema_dir = "${path.module}/../shared/warehouse/schema"
}

resource "google_bigquery_dataset" "warehouse" {
  project     = var.project_id
  dataset_id  = var.dataset_id
  location    = var.bigquery_location
  description = "Tickets of the web system, loaded by the ExtractLoad function."

  # Tables hold the ticket history; never drop them with the dataset.
  delete_contents_on_destroy = false

  depends_on = [google_project_service.service]
}

resource "google_bigquery_table" "tickets" {
  project     = var.project_id
  dataset_id  = google_bigquery_dataset.warehouse.dataset_id
  table_id    = var.tickets_table_id
  description = "One row per ticket, in its newest state."
  schema      = file("${local.schema_dir}/tickets.json")

  time_partitioning {
    type  = "DAY"
    field = "criado_em_utc"
  }
  # CONTRACT section 6. A table of an earlier deployment (clustered by status,
  # mesa, cliente; fewer columns) is migrated in place, not replaced: in
  # hashicorp/terraform-provider-google, google/services/bigquery/
  # resource_bigquery_table.go, `clustering` is not ForceNew (it was until
  # https://github.com/hashicorp/terraform-provider-google/issues/7178), and
  # resourceBigQueryTableSchemaIsChangeable keeps a schema change in place
  # when it only adds NULLABLE columns (a new REQUIRED column, a changed type
  # or mode, or dropping columns while adding others forces a new table).
  # The schema file therefore only ever appends NULLABLE columns
  # (tests/tables.tftest.hcl), and deletion_protection makes an apply that
  # would replace the table fail instead of losing its rows.
  clustering = ["situacao", "mesa", "cliente"]

  deletion_protection = true
}

# One row per session: a small table, neither partitioned nor clustered, as
# the Go code creates it locally (shared/warehouse EnsureTables).
resource "google_bigquery_table" "sync_runs" {
  project     = var.project_id
  dataset_id  = google_bigquery_dataset.warehouse.dataset_id
  table_id    = var.sync_runs_table_id
  description = "One row per session: its mode, window, counts and outcome."
  schema      = file("${local.schema_dir}/sync_runs.json")

  deletion_protection = true
}

resource "google_bigquery_dataset_iam_member" "extract_load" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = local.function_members["extract_load"]
}

# StartLogin (draining expired pending logins before it starts one) and
# CompleteLogin record a login whose code never came as a failed run (a MERGE
# into sync_runs), and Logout adds its requests to the session's row (a
# SELECT and an UPDATE of sync_runs): each edits that table and no other. A table-level
# binding suffices for DML on it; the job itself needs bigquery.jobUser on the
# project (iam.tf). (BigQuery: "Control access to resources with IAM",
# table-level roles; https://cloud.google.com/bigquery/docs/control-access-to-resources-iam)
resource "google_bigquery_table_iam_member" "run_log" {
  for_each = toset(local.run_log_writers)

  project    = var.project_id
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  table_id   = google_bigquery_table.sync_runs.table_id
  role       = "roles/bigquery.dataEditor"
  member     = local.function_members[each.key]
}

moved {
  from = google_bigquery_table_iam_member.complete_login_runs
  to   = google_bigquery_table_iam_member.run_log["complete_login"]
}
