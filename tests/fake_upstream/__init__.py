"""A fake upstream server for tests: OpenAI, Anthropic, Gemini, OpenCode Zen and OpenAI-compatible
wire formats on one local port, with real sockets and real chunked SSE."""
from .common import PNG, SSE, Hang, Reply, Reset, fake_vector
from .server import FakeUpstream, Recorded

__all__ = ["FakeUpstream", "Reply", "SSE", "Hang", "Reset", "Recorded", "PNG", "fake_vector"]
