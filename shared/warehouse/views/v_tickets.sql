-- v_tickets: one row per ticket in tickets (CONTRACT section 9): every column
-- but dados, plus the hours to resolution, whether the solve deadline has
-- passed on an open ticket, and the age in whole 24-hour periods.
-- Placeholders (Terraform templatefile and shared/warehouse render both):
-- project, dataset, tickets_table, history_table, timezone.
SELECT
  t.* EXCEPT (dados),
  TIMESTAMP_DIFF(t.resolvido_em_utc, t.criado_em_utc, MICROSECOND) / 3600000000 AS horas_ate_resolucao,
  COALESCE(t.situacao = 'aberto' AND t.prazo_solucao < CURRENT_DATETIME('${timezone}'), FALSE) AS atrasado,
  DIV(TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), t.criado_em_utc, SECOND), 86400) AS idade_dias
FROM `${project}.${dataset}.${tickets_table}` AS t
