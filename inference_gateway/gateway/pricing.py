"""Model prices in USD per million tokens: PRICES_FILE per model first, then the genai-prices data.

A model found in neither has no price: its calls cost `null`, never 0."""
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Optional

from inference_gateway.gateway import fast_prices
from inference_gateway.gateway.fast_prices import GENAI_KEYS, tier_value

# Our tier names (the PRICES_FILE fields and the API's) and genai-prices' price keys for them.
TIERS = ("input", "output", "cacheRead", "cacheWrite", "reasoning")
# A tier a table leaves out costs what this one costs (the rule for PRICES_FILE).
FALLBACK = {"cacheRead": "input", "cacheWrite": "input", "reasoning": "output"}
# Our provider types that genai-prices knows under an id; other types are matched by model name.
GENAI_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "google"}
FILE, PACKAGE = "file", "genai-prices"
PER = 1_000_000


class PricesFileError(ValueError):
    """PRICES_FILE cannot be read or is not a table of prices."""


@dataclass(frozen=True)
class Price:
    """One model's prices. A tier is a float, or (base, ((threshold, price), ...)) when the price
    depends on the call's input tokens (genai-prices' tiers: past a threshold, all tokens pay it)."""

    model: str  # the name the table knows it by
    source: str  # FILE or PACKAGE
    tiers: tuple  # ((tier name, value), ...) for the tiers the table gives

    def rates(self, input_tokens=0):
        """{tier: USD per million tokens} for a call with this many input tokens, every tier filled."""
        rates = {}
        for name, value in self.tiers:
            if isinstance(value, tuple):
                base, steps = value
                value = next((p for start, p in reversed(steps) if input_tokens > start), base)
            rates[name] = value
        for name, other in FALLBACK.items():
            rates.setdefault(name, rates[other])
        return rates

    def charge(self, record):
        """(costUsd, the prices used as JSON) for a finished call's token counts. A call that
        succeeded without reporting tokens (an image, a transcription) was not priced by tokens:
        its cost is unknown, not 0."""
        if record.status == "success" and not (record.input_tokens or record.output_tokens):
            return None, None
        rates = self.rates(record.input_tokens)
        usd = cost(rates, record.input_tokens, record.output_tokens, record.cache_read_tokens,
                   record.cache_write_tokens, record.reasoning_tokens)
        return usd, json.dumps({**rates, "model": self.model, "source": self.source}, separators=(",", ":"))

    def describe(self):
        """The price as GET /prices shows it (thresholds included where there are some)."""
        out = {}
        for name, value in self.tiers:
            if isinstance(value, tuple):
                out[name] = value[0]
                out.setdefault("tiers", {})[name] = [{"aboveInputTokens": s, "price": p} for s, p in value[1]]
            else:
                out[name] = value
        return out


def cost(rates, input_tokens, output_tokens, cache_read=0, cache_write=0, reasoning=0):
    """USD for one call. As in types.Usage, cached tokens are part of `input_tokens` and reasoning
    tokens part of `output_tokens`; those parts are charged at their own tiers instead."""
    plain_input = max(0, input_tokens - cache_read - cache_write)
    plain_output = max(0, output_tokens - reasoning)
    total = (plain_input * rates["input"] + plain_output * rates["output"]
             + cache_read * rates["cacheRead"] + cache_write * rates["cacheWrite"]
             + reasoning * rates["reasoning"])
    return round(total / PER, 12)


def load_file(path):
    """{model: Price} from a PRICES_FILE; PricesFileError saying what is wrong."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PricesFileError(f"PRICES_FILE {path}: {exc}") from None
    if not isinstance(data, dict):
        raise PricesFileError(f"PRICES_FILE {path}: must be a JSON object of model name to prices")
    table = {}
    for model, fields in data.items():
        where = f"PRICES_FILE {path}: model '{model}'"
        if not isinstance(fields, dict) or "input" not in fields or "output" not in fields:
            raise PricesFileError(f"{where}: give at least 'input' and 'output' (USD per million tokens)")
        unknown = sorted(set(fields) - set(TIERS))
        if unknown:
            raise PricesFileError(f"{where}: unknown field '{unknown[0]}' (allowed: {', '.join(TIERS)})")
        for name, value in fields.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PricesFileError(f"{where}: '{name}' must be a number >= 0")
        table[model] = Price(model, FILE, tuple((n, float(fields[n])) for n in TIERS if n in fields))
    return table


def package_price(model, provider_type=None, now=None, compact=None):
    """The genai-prices price for a model (by our provider type where it knows it), or None. Looked
    up in `compact` (a fast_prices.CompactPrices) when given, else in the package itself."""
    find = compact.find if compact is not None else _find_in_package
    now = now or datetime.now(timezone.utc)
    attempts = [GENAI_PROVIDERS.get(provider_type), None] if provider_type in GENAI_PROVIDERS else [None]
    for provider_id in attempts:
        found = find(model, provider_id, now)
        if found is not None and "input" in dict(found[1]) and "output" in dict(found[1]):
            return Price(found[0], PACKAGE, found[1])
    return None


def _find_in_package(model, provider_id, now):
    """(model id, tiers) as genai-prices' own lookup finds them, or None."""
    from genai_prices import data_snapshot

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    prices = info.get_prices(now)
    return info.id, tuple((name, tier_value(getattr(prices, key))) for name, key in GENAI_KEYS.items()
                          if getattr(prices, key, None) is not None)


class PriceTable:
    """Looks prices up and keeps what it found for the process (the data does not change while it
    runs: a new PRICES_FILE or package version takes a restart)."""

    def __init__(self, path=None):
        self.path = path or None
        self.file = load_file(path) if path else {}
        self.package_version = version("genai-prices")
        self._found = {}
        self._lock = threading.Lock()

    def lookup(self, model, provider_type=None) -> Optional[Price]:
        if not model:
            return None
        key = (model, provider_type)
        try:
            return self._found[key]
        except KeyError:
            pass
        price = self.file.get(model) or self.file.get(model.lower())
        if price is None:
            price = package_price(model, provider_type, compact=fast_prices.table())
        with self._lock:
            self._found[key] = price
        return price

    def source_name(self, price):
        if price.source == FILE:
            return {"source": FILE, "file": self.path}
        return {"source": PACKAGE, "version": self.package_version}
