"""Anthropic's routes on /v1: /messages and /messages/count_tokens."""
from flask import Blueprint

from inference_gateway.compat import common
from inference_gateway.compat.anthropic.errors import render

bp = Blueprint("anthropic_compat", __name__)
common.install(bp, render)
