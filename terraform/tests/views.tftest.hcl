# The history table, the views of CONTRACT section 9 and the dashboard link,
# planned and applied against a mock of the google provider.

mock_provider "google" {}

variables {
  region            = "southamerica-east1"
  bigquery_location = "southamerica-east1"
}

run "history_table" {
  command = apply

  assert {
    condition     = google_bigquery_table.tickets_historico.table_id == "tickets_historico"
    error_message = "The history table must be named tickets_historico (CONTRACT section 9)."
  }

  assert {
    condition     = jsondecode(google_bigquery_table.tickets_historico.schema) == jsondecode(file("../shared/warehouse/schema/tickets_historico.json"))
    error_message = "The history table's schema must be the file the Go code embeds."
  }

  assert {
    condition = (
      google_bigquery_table.tickets_historico.time_partitioning[0].type == "DAY" &&
      google_bigquery_table.tickets_historico.time_partitioning[0].field == "atualizado_em_utc"
    )
    error_message = "The history table must be partitioned by day of atualizado_em_utc."
  }

  assert {
    condition     = google_bigquery_table.tickets_historico.deletion_protection
    error_message = "The history table holds what cannot be read again: it must be protected from deletion."
  }
}

run "views" {
  command = apply

  assert {
    condition     = toset(keys(google_bigquery_table.view)) == toset(["v_tickets", "v_backlog_diario", "v_tempo_por_estagio", "v_sla_mensal"])
    error_message = "The four views of CONTRACT section 9 must be deployed, and no other."
  }

  assert {
    condition     = alltrue([for v in google_bigquery_table.view : !v.view[0].use_legacy_sql && v.dataset_id == "tiflux"])
    error_message = "Every view must be GoogleSQL, in the tables' dataset."
  }

  assert {
    condition     = alltrue([for v in google_bigquery_table.view : !strcontains(v.view[0].query, "$${") && !strcontains(v.view[0].query, "%%{")])
    error_message = "Every placeholder of the views' SQL must be filled."
  }

  # Each view reads the tables Terraform made, by their full names.
  assert {
    condition = (
      strcontains(google_bigquery_table.view["v_tickets"].view[0].query, "`tiflux-test.tiflux.tickets`") &&
      strcontains(google_bigquery_table.view["v_sla_mensal"].view[0].query, "`tiflux-test.tiflux.tickets`") &&
      strcontains(google_bigquery_table.view["v_tempo_por_estagio"].view[0].query, "`tiflux-test.tiflux.tickets_historico`") &&
      strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "`tiflux-test.tiflux.tickets_historico`") &&
      strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "`tiflux-test.tiflux.tickets`")
    )
    error_message = "The views must read tiflux-test.tiflux.tickets and tiflux-test.tiflux.tickets_historico."
  }

  assert {
    condition = (
      strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "CURRENT_DATE('America/Sao_Paulo')") &&
      strcontains(google_bigquery_table.view["v_tickets"].view[0].query, "CURRENT_DATETIME('America/Sao_Paulo')")
    )
    error_message = "Local dates in the views must be in report_time_zone (America/Sao_Paulo by default)."
  }
}

run "views_follow_the_tables" {
  command = apply

  variables {
    dataset_id       = "helpdesk"
    tickets_table_id = "chamados"
    report_time_zone = "America/Manaus"
  }

  assert {
    condition = (
      strcontains(google_bigquery_table.view["v_tickets"].view[0].query, "`tiflux-test.helpdesk.chamados`") &&
      !strcontains(google_bigquery_table.view["v_tickets"].view[0].query, ".tickets`") &&
      strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "`tiflux-test.helpdesk.tickets_historico`") &&
      strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "'America/Manaus'") &&
      !strcontains(google_bigquery_table.view["v_backlog_diario"].view[0].query, "Sao_Paulo")
    )
    error_message = "A renamed dataset, tickets table or time zone must reach every view."
  }

  assert {
    condition     = output.view_ids["v_sla_mensal"] == "tiflux-test.helpdesk.v_sla_mensal"
    error_message = "view_ids must name each view as project.dataset.view."
  }
}

run "dashboard_link" {
  command = apply

  assert {
    condition     = output.dashboard_url == "https://lookerstudio.google.com/reporting/create?r.reportName=Tickets&ds.ds0.connector=bigQuery&ds.ds0.datasourceName=v_tickets&ds.ds0.type=TABLE&ds.ds0.projectId=tiflux-test&ds.ds0.datasetId=tiflux&ds.ds0.tableId=v_tickets&ds.ds0.billingProjectId=tiflux-test"
    error_message = "dashboard_url must open a new Looker Studio report on the BigQuery view tiflux-test.tiflux.v_tickets: ${output.dashboard_url}"
  }
}
