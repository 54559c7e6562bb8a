"""A scriptable in-process adapter, for testing the call path without a network (like llm's MockModel)."""
import threading

from inference_gateway import errors
from inference_gateway.providers.base import Provider
from inference_gateway.types import Chunk, Completion, Usage


class MockProvider(Provider):
    """Answers from a queue of scripted results; records every request it was given."""

    type = "mock"

    def __init__(self, config, settings, script):
        super().__init__(config, settings)
        self.script = script

    def chat(self, req):
        self.script.history.append(req)
        outcome = self.script.next()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def stream(self, req):
        self.script.history.append(req)
        outcome = self.script.next()
        if isinstance(outcome, Exception):
            raise outcome
        return self._chunks(outcome)

    def _chunks(self, items):
        try:
            for item in items:
                if isinstance(item, Exception):
                    raise item
                if isinstance(item, threading.Event):
                    # A silent upstream: wait until released, or until close() cuts the connection.
                    self.script.gates.append(item)
                    item.wait(5)
                    if self.script.aborted:
                        raise errors.UpstreamError("the connection to the mock broke mid-stream")
                    continue
                yield item
        finally:
            self.script.closed += 1

    def close(self):
        super().close()
        self.script.aborted = True
        for gate in self.script.gates:
            gate.set()


class Script:
    def __init__(self):
        self.queue, self.history, self.closed = [], [], 0
        self.gates, self.aborted = [], False

    def enqueue(self, *outcomes):
        self.queue.extend(outcomes)

    def next(self):
        if not self.queue:
            raise errors.UpstreamError("mock provider has nothing scripted")
        return self.queue.pop(0)


def completion(text="The capital of France is Paris.", model="gpt-4o", usage=(15, 12)):
    return Completion(content=text, model=model, usage=Usage(*usage), finish_reason="stop")


def chunks(*texts, usage=(10, 5)):
    items = [Chunk(text=t) for t in texts]
    items.append(Chunk(usage=Usage(*usage), finish_reason="stop"))
    return items
