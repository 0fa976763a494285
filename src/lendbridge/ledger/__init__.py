"""The double-entry ledger (台账): accounts, journal entries, holds, balances, trial balance."""
