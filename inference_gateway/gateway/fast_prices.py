"""genai-prices' model prices without the package in the serving processes (target 5's memory).

Importing the package's data costs a process about 25 MiB (2,300 models as dataclasses with their
descriptions and usage extractors, pydantic, the package's modules), and loading it in gunicorn's
master did not keep the workers from copying most of it. The table here holds only what a price
lookup reads: per provider its id, match rules and fallback providers, per model its id, match rule
and prices (as our tiers, with the dates or hours they apply). A subprocess builds it from the
package and prints it as JSON (`python -m inference_gateway.gateway.fast_prices`); the master
loads it before forking (gunicorn.conf.py), anything else on its first lookup.

`CompactPrices.find` repeats the package's lookup (DataSnapshot.find_provider_model,
Provider.find_model, ModelInfo.get_prices) for the calls pricing.py makes; tests/test_fast_prices.py
holds it to the package over every model in its data. If the table cannot be built, pricing.py
looks prices up in the package in-process, as before.
"""
import json
import logging
import os
import re
import subprocess
import sys
from datetime import date, datetime, time, timezone

log = logging.getLogger(__name__)

# The package's own rule for compact dated names (`gpt-5.2-20251211`), retried when a name does
# not match as given (genai_prices.types._COMPACT_DATE_RE).
COMPACT_DATE = re.compile(r"(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)")
BUILD_TIMEOUT = 120
# Our tier names (pricing.TIERS) and genai-prices' price keys for them.
GENAI_KEYS = {"input": "input_mtok", "output": "output_mtok", "cacheRead": "cache_read_mtok",
              "cacheWrite": "cache_write_mtok", "reasoning": "output_reasoning_mtok"}

_table = None


def table():
    """This process's CompactPrices (built by a subprocess on first use), or None if it cannot be built."""
    global _table
    if _table is None:
        try:
            _table = CompactPrices(_build_in_subprocess())
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log.warning("genai-prices' compact price table could not be built (%s); prices are looked up "
                        "in the package in-process (about 25 MiB more per process)", exc)
            return None
    return _table


def _build_in_subprocess():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", __name__], capture_output=True, env=env, timeout=BUILD_TIMEOUT)
    if done.returncode:
        raise ValueError(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or done.returncode)
    return json.loads(done.stdout)


class CompactPrices:
    """The table built by `build()`, looked up as genai-prices looks its data up."""

    def __init__(self, data):
        self.providers = [(pid, _rule(provider_match), _rule(model_match), tuple(fallbacks or ()),
                           tuple((sys.intern(model_id), _rule(match), _prices(prices)) for model_id, match, prices in models))
                          for pid, provider_match, model_match, fallbacks, models in data["providers"]]
        self.by_id = {}
        for provider in self.providers:
            self.by_id.setdefault(provider[0], provider)

    def find(self, model, provider_id, now):
        """(the matched model's id, its tiers at `now`) for a model name and a genai-prices provider
        id (or None: the provider whose model rule matches the name), or None."""
        ref = model.lower()
        provider = self._provider(ref, provider_id)
        if provider is None:
            return None
        found = self._model(provider, ref, fallback=True)
        if found is None:
            normalized = COMPACT_DATE.sub(_dashed_date, ref)
            if normalized != ref:
                found = self._model(provider, normalized, fallback=True)
        if found is None:
            return None
        model_id, _, prices = found
        return model_id, _at(prices, now)

    def _provider(self, ref, provider_id):
        if provider_id is not None:
            wanted = provider_id.lower().strip()
            if wanted in self.by_id:
                return self.by_id[wanted]
            return next((p for p in self.providers if p[1] is not None and matches(p[1], wanted)), None)
        if not ref:
            return None
        return next((p for p in self.providers if p[2] is not None and matches(p[2], ref)), None)

    def _model(self, provider, ref, fallback):
        for model in provider[4]:
            if matches(model[1], ref):
                return model
        if fallback:
            for provider_id in provider[3]:
                other = self.by_id.get(provider_id)
                if other is not None:
                    found = self._model(other, ref, fallback=False)  # one step of fallback, as the package
                    if found is not None:
                        return found
        return None


def _dashed_date(match):
    year, month, day = (int(match.group(i)) for i in range(2, 5))
    try:
        date(year, month, day)
    except ValueError:
        return match.group(0)
    return f"{match.group(1)}{year:04d}-{month:02d}-{day:02d}"


def _rule(rule):
    """A match rule as (kind, argument) tuples, patterns lower-cased by `build` (about a third of the
    memory of a closure per rule; 2,300 models have one each)."""
    if rule is None:
        return None
    kind, arg = rule
    if kind in ("or", "and"):
        return sys.intern(kind), tuple(_rule(part) for part in arg)
    if kind not in MATCHERS:
        raise ValueError(f"unknown match rule {kind!r}")
    return sys.intern(kind), sys.intern(arg)  # a model's id is often its own pattern: one string


def matches(rule, text):
    """Whether a lower-cased name matches a rule, as genai-prices' clauses decide it."""
    kind, arg = rule
    if kind == "or":
        return any(matches(part, text) for part in arg)
    if kind == "and":
        return all(matches(part, text) for part in arg)
    return MATCHERS[kind](text, arg)


MATCHERS = {"equals": str.__eq__, "starts_with": str.startswith, "ends_with": str.endswith,
            "contains": lambda text, arg: arg in text,
            "regex": lambda text, arg: re.search(arg, text) is not None}


def _prices(prices):
    """((constraint, tiers), ...) with tiers as pricing.Price holds them."""
    return tuple((tuple(constraint) if constraint else None,
                  tuple((sys.intern(name), (value[0], tuple(map(tuple, value[1]))) if isinstance(value, list) else value)
                        for name, value in tiers))
                 for constraint, tiers in prices)


def _at(prices, now):
    """The tiers that apply at `now`: the last price whose constraint holds, else the first."""
    for constraint, tiers in reversed(prices):
        if constraint is None or _active(constraint, now):
            return tiers
    return prices[0][1]


def _active(constraint, now):
    now = now.astimezone(timezone.utc) if now.tzinfo is not None else now
    if constraint[0] == "date":
        return now.date() >= date.fromisoformat(constraint[1])
    start, end, at = time.fromisoformat(constraint[1]), time.fromisoformat(constraint[2]), now.time()
    if end < start:
        return at >= start or at < end
    return start <= at < end


# -- the build, run in a subprocess (it imports the package) ------------------------------------
def tier_value(value):
    """A genai-prices price as a tier of pricing.Price: a float, or (base, ((threshold, price), ...))."""
    base = getattr(value, "base", None)
    if base is None:
        return float(value)
    return (float(base), tuple((int(t.start), float(t.price)) for t in value.tiers))


def build(snapshot):
    """The JSON table of a genai-prices DataSnapshot."""
    def tiers(model_price):
        out = []
        for name, key in GENAI_KEYS.items():
            value = getattr(model_price, key, None)
            if value is not None:
                out.append([name, tier_value(value)])
        return out

    def prices(model):
        if not isinstance(model.prices, list):
            return [[None, tiers(model.prices)]]
        return [[_constraint(c.constraint), tiers(c.prices)] for c in model.prices]

    return {"providers": [[p.id, _rule_json(p.provider_match), _rule_json(p.model_match),
                           p.fallback_model_providers, [[m.id, _rule_json(m.match), prices(m)] for m in p.models]]
                          for p in snapshot.providers]}


def _rule_json(clause):
    from genai_prices import types

    if clause is None:
        return None
    simple = {types.ClauseEquals: ("equals", "equals"), types.ClauseStartsWith: ("starts_with", "starts_with"),
              types.ClauseEndsWith: ("ends_with", "ends_with"), types.ClauseContains: ("contains", "contains")}
    if type(clause) in simple:
        kind, field = simple[type(clause)]
        return [kind, getattr(clause, field).lower()]
    if isinstance(clause, types.ClauseRegex):
        return ["regex", clause.regex]
    if isinstance(clause, types.ClauseOr):
        return ["or", [_rule_json(c) for c in clause.or_]]
    if isinstance(clause, types.ClauseAnd):
        return ["and", [_rule_json(c) for c in clause.and_]]
    raise ValueError(f"genai-prices match rule {type(clause).__name__} is not known to the compact table")


def _constraint(constraint):
    from genai_prices import types

    if constraint is None:
        return None
    if isinstance(constraint, types.StartDateConstraint):
        return ["date", constraint.start_date.isoformat()]
    if isinstance(constraint, types.TimeOfDateConstraint):
        return ["time", _utc_time(constraint.start_time), _utc_time(constraint.end_time)]
    raise ValueError(f"genai-prices constraint {type(constraint).__name__} is not known to the compact table")


def _utc_time(value):
    """A time of day in UTC, without its zone (a time without one is UTC, as in the package)."""
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(timezone.utc).time()
    return value.isoformat()


def main():
    from genai_prices import data_snapshot

    json.dump(build(data_snapshot.get_snapshot()), sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
