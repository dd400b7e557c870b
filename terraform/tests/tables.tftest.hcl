# The tickets table of CONTRACT section 6, and what keeps an earlier
# deployment's table (schema of main at 90ff867, listed below) migrating in place: every old
# column still there with its type and mode, every new column NULLABLE, the
# table protected from deletion.

mock_provider "google" {}

run "tickets_table" {
  command = apply

  assert {
    condition     = google_bigquery_table.tickets.clustering == tolist(["situacao", "mesa", "cliente"])
    error_message = "The tickets table must be clustered by situacao, mesa, cliente (CONTRACT section 6)."
  }

  assert {
    condition = (google_bigquery_table.tickets.time_partitioning[0].type == "DAY" &&
    google_bigquery_table.tickets.time_partitioning[0].field == "criado_em_utc")
    error_message = "The tickets table must be partitioned by day of criado_em_utc."
  }

  assert {
    condition     = google_bigquery_table.tickets.deletion_protection
    error_message = "The tickets table must be protected from deletion: a plan that replaces it must fail, not drop its rows."
  }

  assert {
    condition = alltrue([
      for name, tm in {
        numero_ticket      = "INTEGER REQUIRED", titulo = "STRING NULLABLE", status = "STRING NULLABLE",
        status_id          = "INTEGER NULLABLE", estagio = "STRING NULLABLE", prioridade = "STRING NULLABLE",
        cliente            = "STRING NULLABLE", cliente_id = "INTEGER NULLABLE", mesa = "STRING NULLABLE",
        responsavel        = "STRING NULLABLE", solicitante = "STRING NULLABLE", solicitante_email = "STRING NULLABLE",
        canal              = "STRING NULLABLE", fechado = "BOOLEAN NULLABLE", reaberturas = "INTEGER NULLABLE",
        resolvido_no_prazo = "BOOLEAN NULLABLE", criado_em = "DATETIME NULLABLE", atualizado_em = "DATETIME NULLABLE",
        prazo_atendimento  = "DATETIME NULLABLE", prazo_solucao = "DATETIME NULLABLE",
        criado_em_utc      = "TIMESTAMP REQUIRED", atualizado_em_utc = "TIMESTAMP REQUIRED",
        sincronizado_em    = "TIMESTAMP REQUIRED", sessao = "STRING REQUIRED",
        } : contains([
          for f in jsondecode(google_bigquery_table.tickets.schema) : "${f.name} ${f.type} ${f.mode}"
      ], "${name} ${tm}")
    ])
    error_message = "Every column of the first deployment's tickets table must stay, with its type and mode: dropping or changing one replaces the table."
  }

  assert {
    condition = alltrue([
      for f in jsondecode(google_bigquery_table.tickets.schema) :
      f.mode == "NULLABLE" if !contains(["numero_ticket", "titulo", "status", "status_id", "estagio", "prioridade", "cliente",
        "cliente_id", "mesa", "responsavel", "solicitante", "solicitante_email", "canal", "fechado", "reaberturas",
        "resolvido_no_prazo", "criado_em", "atualizado_em", "prazo_atendimento", "prazo_solucao", "criado_em_utc",
      "atualizado_em_utc", "sincronizado_em", "sessao"], f.name)
    ])
    error_message = "A column added since the first deployment must be NULLABLE: a new REQUIRED column makes the provider replace the table."
  }

  assert {
    condition = [
      for f in jsondecode(google_bigquery_table.tickets.schema) : f.type if f.name == "dados"
    ] == ["JSON"]
    error_message = "dados must be a JSON column (CONTRACT section 6)."
  }
}
