# The history table and the views of CONTRACT.md section 9, and a link that
# opens Looker Studio on v_tickets. The views' SQL is the files the Go code
# embeds and the tests run (shared/warehouse/views), rendered here with
# templatefile: the same placeholders, so the two cannot drift apart.

locals {
  views_dir = "${path.module}/../shared/warehouse/views"
  views = {
    v_tickets           = "One row per ticket: the tickets columns but dados, hours to resolution, overdue, age in days."
    v_backlog_diario    = "One row per local day and desk: open tickets at the end of the day, created, resolved."
    v_tempo_por_estagio = "One row per ticket and stage: hours spent in it, from tickets_historico."
    v_sla_mensal        = "One row per month of resolution, desk and priority: resolved, on time, median and p90 hours."
  }
}

resource "google_bigquery_table" "tickets_historico" {
  project     = var.project_id
  dataset_id  = google_bigquery_dataset.warehouse.dataset_id
  table_id    = "tickets_historico"
  description = "Every distinct version (numero_ticket, atualizado_em_utc, situacao) of a ticket read; append-only."
  schema      = file("${local.schema_dir}/tickets_historico.json")

  time_partitioning {
    type  = "DAY"
    field = "atualizado_em_utc"
  }
  clustering = ["numero_ticket"]

  deletion_protection = true
}

resource "google_bigquery_table" "view" {
  for_each = local.views

  project     = var.project_id
  dataset_id  = google_bigquery_dataset.warehouse.dataset_id
  table_id    = each.key
  description = each.value

  view {
    # The tables' own attributes, not the variables: each view follows the
    # tables it reads and is created after them.
    query = templatefile("${local.views_dir}/${each.key}.sql", {
      project       = google_bigquery_table.tickets.project
      dataset       = google_bigquery_table.tickets.dataset_id
      tickets_table = google_bigquery_table.tickets.table_id
      history_table = google_bigquery_table.tickets_historico.table_id
      timezone      = var.report_time_zone
    })
    use_legacy_sql = false
  }

  # A view holds no data: replacing it loses nothing.
  deletion_protection = false

  depends_on = [google_bigquery_table.tickets, google_bigquery_table.tickets_historico]
}

locals {
  # Looker Studio Linking API: /reporting/create with no c.reportId makes a new
  # report over the data source configured by the ds.ds0.* parameters (BigQuery
  # connector, one table or view), with no template to install.
  # https://developers.google.com/looker-studio/integrate/linking-api
  dashboard_parameters = [
    ["r.reportName", "Tickets"],
    ["ds.ds0.connector", "bigQuery"],
    ["ds.ds0.datasourceName", "v_tickets"],
    ["ds.ds0.type", "TABLE"],
    ["ds.ds0.projectId", google_bigquery_table.view["v_tickets"].project],
    ["ds.ds0.datasetId", google_bigquery_table.view["v_tickets"].dataset_id],
    ["ds.ds0.tableId", google_bigquery_table.view["v_tickets"].table_id],
    ["ds.ds0.billingProjectId", var.project_id],
  ]
}
