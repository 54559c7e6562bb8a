"""Talking to the fake upstream server with plain `requests`, as its self-tests do."""
import requests

OPENAI = {"Authorization": "Bearer sk-test"}
ANTHROPIC = {"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}
GOOGLE = {"x-goog-api-key": "g-key"}
ASK = [{"role": "user", "content": "What is the capital of France?"}]  # 6 words -> 11 input tokens
PARIS = "The capital of France is Paris."


def post(up, kind, path, headers=None, **kw):
    return requests.post(up.base_url(kind) + path, headers=headers, timeout=5, **kw)
