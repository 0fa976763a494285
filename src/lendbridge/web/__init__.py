"""The web application: the borrower portal (``/``) and the back office (``/staff``).

Server-rendered pages (Jinja2) over the same services the API calls; no single-page build.
Pages authenticate with a signed session cookie, check a CSRF token on every form, speak
zh-CN by default and English by switch, and send a strict content security policy.
"""
