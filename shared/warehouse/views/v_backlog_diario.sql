-- v_backlog_diario: one row per local day and desk (CONTRACT section 9), from
-- the local date of the earliest atualizado_em_utc in tickets_historico to
-- today, in ${timezone}.
--   abertos: tickets whose version in force at the end of the day (the last
--     one with atualizado_em_utc before the next local midnight, ordered by
--     atualizado_em_utc, then sincronizado_em) is aberto, by that version's mesa;
--   criados, resolvidos: tickets whose criado_em / resolvido_em falls on the
--     day, by the ticket's current mesa.
-- Rows whose three counts are 0 are left out; a NULL mesa is a group of its own.
WITH
limites AS (
  SELECT
    DATE(MIN(atualizado_em_utc), '${timezone}') AS primeiro,
    CURRENT_DATE('${timezone}') AS hoje
  FROM `${project}.${dataset}.${history_table}`
),
versoes AS (
  SELECT
    situacao,
    mesa,
    DATE(atualizado_em_utc, '${timezone}') AS desde,
    LEAD(DATE(atualizado_em_utc, '${timezone}')) OVER (
      PARTITION BY numero_ticket
      ORDER BY atualizado_em_utc, sincronizado_em,
        -- a tie goes as the MERGE breaks it: excluido > cancelado > fechado > aberto
        CASE situacao WHEN 'excluido' THEN 3 WHEN 'cancelado' THEN 2 WHEN 'fechado' THEN 1 ELSE 0 END
    ) AS ate
  FROM `${project}.${dataset}.${history_table}`
),
eventos AS (
  -- An open version is in force at the end of every day from its own date to
  -- the day before the next version's date (none when both fall on one day).
  SELECT dia, v.mesa, 1 AS abertos, 0 AS criados, 0 AS resolvidos
  FROM versoes AS v
  CROSS JOIN limites AS l
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(v.desde, COALESCE(DATE_SUB(v.ate, INTERVAL 1 DAY), l.hoje))) AS dia
  WHERE v.situacao = 'aberto'
  UNION ALL
  SELECT DATE(t.criado_em) AS dia, t.mesa, 0, 1, 0
  FROM `${project}.${dataset}.${tickets_table}` AS t
  WHERE t.criado_em IS NOT NULL
  UNION ALL
  SELECT DATE(t.resolvido_em) AS dia, t.mesa, 0, 0, 1
  FROM `${project}.${dataset}.${tickets_table}` AS t
  WHERE t.resolvido_em IS NOT NULL
)
SELECT
  e.dia,
  e.mesa,
  SUM(e.abertos) AS abertos,
  SUM(e.criados) AS criados,
  SUM(e.resolvidos) AS resolvidos
FROM eventos AS e
CROSS JOIN limites AS l
WHERE e.dia BETWEEN l.primeiro AND l.hoje
GROUP BY e.dia, e.mesa
