-- 002: any feature (DESIGN §6, §7; issue 16). Events of ABI 2.0 gateways carry `features`
-- (stored as jsonb, NULL for older events) and `config_version` (NULL for older events).
-- income, loan_amount and credit_history become nullable: a feature schema without one of
-- them sends null (the column is then filled from features when it holds the value).
-- Existing rows are kept as they are.
ALTER TABLE credit_score_metrics
    ADD COLUMN features jsonb,
    ADD COLUMN config_version text,
    ALTER COLUMN income DROP NOT NULL,
    ALTER COLUMN loan_amount DROP NOT NULL,
    ALTER COLUMN credit_history DROP NOT NULL;

-- The feature catalogue, learned at ingest in the batch's transaction from the rows
-- actually inserted (persistence/features.h): the first type seen, how many stored events
-- hold the feature, and for categories the 100 smallest distinct values (byte order).
CREATE TABLE feature_catalogue (
    name             text    PRIMARY KEY,
    type             text    NOT NULL CHECK (type IN ('number', 'category', 'boolean')),
    category_values  jsonb   NOT NULL DEFAULT '[]',
    values_truncated boolean NOT NULL DEFAULT false,
    count            bigint  NOT NULL DEFAULT 0
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON feature_catalogue TO csg_app;
  END IF;
END $$;
