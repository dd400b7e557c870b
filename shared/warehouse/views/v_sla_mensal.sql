-- v_sla_mensal: one row per local month of resolvido_em, desk and priority
-- (CONTRACT section 9). Every ticket with a resolvido_em counts (reopened or
-- canceled ones too); a NULL solucao_no_prazo counts in resolvidos only. The
-- median and 90th percentile of the hours to resolution are exact, with
-- linear interpolation (PERCENTILE_CONT). A NULL mesa or prioridade is a
-- group of its own.
WITH
resolvidos AS (
  SELECT
    DATE_TRUNC(DATE(resolvido_em), MONTH) AS mes,
    mesa,
    prioridade,
    COALESCE(solucao_no_prazo, FALSE) AS no_prazo,
    TIMESTAMP_DIFF(resolvido_em_utc, criado_em_utc, MICROSECOND) / 3600000000 AS horas
  FROM `${project}.${dataset}.${tickets_table}`
  WHERE resolvido_em IS NOT NULL
),
percentis AS (
  SELECT
    *,
    PERCENTILE_CONT(horas, 0.5) OVER (PARTITION BY mes, mesa, prioridade) AS horas_mediana,
    PERCENTILE_CONT(horas, 0.9) OVER (PARTITION BY mes, mesa, prioridade) AS horas_p90
  FROM resolvidos
)
SELECT
  mes,
  mesa,
  prioridade,
  COUNT(*) AS resolvidos,
  COUNTIF(no_prazo) AS resolvidos_no_prazo,
  CAST(COUNTIF(no_prazo) AS FLOAT64) / COUNT(*) AS pct_no_prazo,
  MAX(horas_mediana) AS horas_mediana,
  MAX(horas_p90) AS horas_p90
FROM percentis
GROUP BY mes, mesa, prioridade
