"""The overview's charts as data: plain dicts the page embeds as JSON and dashboard.js hands to
Plotly (one trace per series, one point per bucket, gaps as zeros). Pure: no request, no database."""
from inference_gateway.store.provider_store import iso

MAX_SERIES = 8  # providers drawn as their own series; the rest are summed as "others"
NO_PROVIDER = "no provider"  # calls refused before one was chosen (NO_PROVIDER, a bad request)
OTHERS = "others"
REQUESTS, ERRORS, INPUT, OUTPUT, COST = range(5)


def provider_label(provider_id, names):
    return names.get(provider_id) or (provider_id if provider_id else NO_PROVIDER)


def _per_provider(starts, points, names, index):
    """One series per provider (the busiest MAX_SERIES, then "others") of counter `index`."""
    totals = {}
    for (_, provider_id), values in points.items():
        totals[provider_id] = totals.get(provider_id, 0) + values[REQUESTS]
    ranked = sorted(totals, key=lambda pid: (-totals[pid], provider_label(pid, names)))
    shown = ranked[:MAX_SERIES] if len(ranked) <= MAX_SERIES else ranked[:MAX_SERIES - 1]
    labels = {pid: provider_label(pid, names) for pid in shown}
    position = {start: i for i, start in enumerate(starts)}
    series = {}
    for (start, provider_id), values in points.items():
        label = labels.get(provider_id, OTHERS)
        ys = series.setdefault(label, [0] * len(starts))
        ys[position[start]] += values[index]
    order = [labels[pid] for pid in shown] + ([OTHERS] if OTHERS in series else [])
    return [{"name": label, "y": _rounded(series[label], index)} for label in order if label in series]


def _rounded(values, index):
    return [round(v, 6) for v in values] if index == COST else values


def _total(starts, points, index):
    position = {start: i for i, start in enumerate(starts)}
    ys = [0] * len(starts)
    for (start, _), values in points.items():
        ys[position[start]] += values[index]
    return _rounded(ys, index)


def over_time(starts, points, names, bucket):
    """The four time charts: requests and cost by provider, errors, input and output tokens."""
    x = [iso(start) for start in starts]
    spec = {"x": x, "bucket": bucket}
    return {
        "requests": {**spec, "kind": "stacked", "unit": "requests",
                     "series": _per_provider(starts, points, names, REQUESTS)},
        "errors": {**spec, "kind": "line", "unit": "errors",
                   "series": [{"name": "errors", "y": _total(starts, points, ERRORS)}]},
        "tokens": {**spec, "kind": "line", "unit": "tokens",
                   "series": [{"name": "input", "y": _total(starts, points, INPUT)},
                              {"name": "output", "y": _total(starts, points, OUTPUT)}]},
        "cost": {**spec, "kind": "stacked", "unit": "USD", "series": _per_provider(starts, points, names, COST)},
    }


def latency_bars(by_provider, names):
    """p50, p95 and time to first token (p50) per provider, as grouped bars."""
    rows = [row for row in by_provider if row["calls"]]
    x = [provider_label(row["providerId"], names) for row in rows]
    return {"kind": "bars", "unit": "ms", "x": x, "series": [
        {"name": "p50", "y": [row["p50Ms"] for row in rows]},
        {"name": "p95", "y": [row["p95Ms"] for row in rows]},
        {"name": "first token p50", "y": [row["ttftP50Ms"] for row in rows]},
    ]}


def error_mix(codes):
    """Errors by code, largest first, as one horizontal bar series."""
    return {"kind": "hbars", "unit": "errors", "x": [c["code"] for c in codes],
            "series": [{"name": "errors", "y": [c["count"] for c in codes]}]}
