"""Images resource."""
from flask import Blueprint

bp = Blueprint("images", __name__)
