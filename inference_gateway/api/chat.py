"""Chat resource."""
from flask import Blueprint

bp = Blueprint("chat", __name__)
