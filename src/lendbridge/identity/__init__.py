"""Identity: staff sign-in and customer real-name verification (KYC)."""
