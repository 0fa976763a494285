"""Credit decisions: the decision policy as versioned data (rules in a safe expression
language), its evaluation (eligibility, grade, limit, price, reasons) and stored decisions."""
