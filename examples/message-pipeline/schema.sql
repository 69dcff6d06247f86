CREATE TABLE IF NOT EXISTS messages (
  id          uuid PRIMARY KEY,          -- given by the API, so a replayed insert is a no-op
  user_id     integer NOT NULL,
  channel_id  integer NOT NULL,
  content     text NOT NULL,
  created_at  timestamptz NOT NULL,
  inserted_at timestamptz NOT NULL DEFAULT now()
);
-- Totals move in the same transaction as the rows, so they are exact across worker crashes.
CREATE TABLE IF NOT EXISTS pipeline_totals (
  only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  total_messages bigint NOT NULL DEFAULT 0,
  total_batches  bigint NOT NULL DEFAULT 0
);
INSERT INTO pipeline_totals DEFAULT VALUES ON CONFLICT DO NOTHING;
