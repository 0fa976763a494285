"""Loan products (贷款产品) as data: validated on save against the APR cap, versioned and never
edited, retired when they stop taking loans. See docs/products.md."""
