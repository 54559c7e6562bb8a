"""Anthropic adapter."""
from inference_gateway.providers import anthropic_format as fmt
from inference_gateway.providers.base import Provider

PAGE_SIZE = 1000  # the largest `limit` GET /models accepts


class AnthropicProvider(Provider):
    type = "anthropic"
    label = "Anthropic"
    default_base_url = "https://api.anthropic.com/v1"

    def auth_headers(self, key):
        return fmt.auth_headers(key)

    def parse_error(self, status, body, headers):
        return fmt.parse_error(status, body, headers)

    def list_models(self):
        after = None
        while True:
            params = {"limit": PAGE_SIZE}
            if after:
                params["after_id"] = after
            page = yield from self.request_items("/models", "data", fmt.model_info, ("has_more", "last_id"),
                                                 params=params)
            last = page.get("last_id")
            if not page.get("has_more") or not last or last == after:
                return
            after = last

    def chat(self, req):
        name = self.config.name
        payload = fmt.messages_payload(req, self.settings.anthropic_default_max_tokens, name=name)
        return fmt.parse_message(self.request_json("POST", "/messages", json_body=payload,
                                                   headers=fmt.beta_headers(req)),
                                 req.model, name=name, structured=fmt.structured_name(req))

    def count_tokens(self, req):
        """Anthropic's own count (/messages/count_tokens takes the request without max_tokens)."""
        payload = fmt.messages_payload(req, self.settings.anthropic_default_max_tokens,
                                       name=self.config.name)
        del payload["max_tokens"]
        body = self.request_json("POST", "/messages/count_tokens", json_body=payload,
                                 headers=fmt.beta_headers(req))
        return fmt.counted_tokens(body, self.config.name)

    def stream(self, req):
        name = self.config.name
        payload = fmt.messages_payload(req, self.settings.anthropic_default_max_tokens, stream=True,
                                       name=name)
        resp = self.request("POST", "/messages", json_body=payload, stream=True,
                            headers=fmt.beta_headers(req))
        return fmt.iter_chunks(self.stream_events(resp), name=name, structured=fmt.structured_name(req))
