"""Usage resource."""
from flask import Blueprint

bp = Blueprint("usage", __name__)
