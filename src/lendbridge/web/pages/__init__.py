"""The page routers, in the order they are matched."""

from __future__ import annotations

from fastapi import APIRouter

from lendbridge.web.pages import signin

ROUTERS: list[APIRouter] = [signin.router]
