"""Credit models: cleaning a lender's history, training a scorecard and a gradient-boosted
challenger, the model registry, serving (pure Python, no pandas/sklearn) and monitoring."""
