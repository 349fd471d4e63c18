-- 003: adverse-action reason codes (DESIGN §6, issue 17). Each model's reason codes as the
-- event carried them, in order: text[] ('{}' when the model answered without reasons,
-- NULL when it gave no answer or the event came from an older gateway — existing rows).
-- text[] rather than jsonb: /metrics/reasons reads the first code as champion_reasons[1]
-- and every code with unnest(), both without parsing JSON, and a code list is a few bytes.
ALTER TABLE credit_score_metrics
    ADD COLUMN champion_reasons text[],
    ADD COLUMN challenger_reasons text[];
