-- v_tempo_por_estagio: one row per ticket and stage it has been in (CONTRACT
-- section 9). Each version in tickets_historico lasts until the ticket's next
-- version (ordered by atualizado_em_utc, then sincronizado_em); the latest
-- version lasts until now while the ticket is open, and adds 0 hours otherwise.
-- A NULL estagio is a group of its own.
WITH versoes AS (
  SELECT
    numero_ticket,
    estagio,
    situacao,
    atualizado_em_utc,
    LEAD(atualizado_em_utc) OVER (
      PARTITION BY numero_ticket
      ORDER BY atualizado_em_utc, sincronizado_em,
        -- a tie goes as the MERGE breaks it: excluido > cancelado > fechado > aberto
        CASE situacao WHEN 'excluido' THEN 3 WHEN 'cancelado' THEN 2 WHEN 'fechado' THEN 1 ELSE 0 END
    ) AS proxima
  FROM `${project}.${dataset}.${history_table}`
)
SELECT
  numero_ticket,
  estagio,
  SUM(
    CASE
      WHEN proxima IS NOT NULL THEN TIMESTAMP_DIFF(proxima, atualizado_em_utc, MICROSECOND)
      WHEN situacao = 'aberto' THEN GREATEST(TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), atualizado_em_utc, MICROSECOND), 0)
      ELSE 0
    END
  ) / 3600000000 AS horas
FROM versoes
GROUP BY numero_ticket, estagio
