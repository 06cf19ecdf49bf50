-- The run's staging model goes once it is published (or, for a backfill, once its snapshot is).
DROP MODEL IF EXISTS {{ trained_model() }}
