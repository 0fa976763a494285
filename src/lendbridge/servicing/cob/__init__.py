"""The daily close of business (COB): the steps that close one business day, run in order,
recorded, idempotent per date and resumable after a crash; then the business date moves on."""
