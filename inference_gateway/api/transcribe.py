"""Transcribe resource."""
from flask import Blueprint

bp = Blueprint("transcribe", __name__)
