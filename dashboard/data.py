"""The dashboard's only door to the csg-persist REST API (DESIGN §7).

Every request goes through `_get_json`, cached with `st.cache_data(ttl=…)` so the sections
of one refresh share answers and a refresh every few seconds costs one round of requests.
Failures are exceptions the app turns into banners: `ApiUnavailable` (cannot connect,
timeout, 5xx) and `ApiError` (the API answered 4xx, e.g. `invalid_parameter`). Exceptions
are never cached, so the next refresh retries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import requests
import streamlit as st

DEFAULT_API_URL = "http://127.0.0.1:8090"


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def api_url() -> str:
    """Read at call time (not import time) so tests can point one process elsewhere."""
    return os.environ.get("CSG_API_URL", DEFAULT_API_URL).rstrip("/")


def api_auth() -> tuple[dict[str, str], str | bool]:
    """Headers and TLS verification for the API (docs/security.md), read at call time:
    CSG_API_TOKEN (a read token, sent as a bearer token) and CSG_API_CA_FILE (the CA that
    signed csg-persist's certificate, for an https:// CSG_API_URL; default: the system's)."""
    token = os.environ.get("CSG_API_TOKEN", "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return headers, os.environ.get("CSG_API_CA_FILE") or True


def refresh_seconds() -> float:
    """Auto-refresh period; 0 turns it off."""
    return max(0.0, _env_float("CSG_REFRESH_SECONDS", 5.0))


CACHE_TTL_S = max(0.5, _env_float("CSG_CACHE_TTL_SECONDS", 2.0))
TIMEOUT_S = max(0.5, _env_float("CSG_API_TIMEOUT_SECONDS", 5.0))


class ApiError(Exception):
    """The API answered with an error (4xx). `code`/`parameter` come from its error body."""

    def __init__(self, path: str, status: int, code: str, message: str,
                 parameter: str | None = None):
        self.path, self.status, self.code, self.parameter = path, status, code, parameter
        self.message = message
        super().__init__(f"{path}: HTTP {status} {code}: {message}")


class ApiUnavailable(Exception):
    """The API cannot be reached or failed (connection refused, timeout, 5xx)."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class Filters:
    """The sidebar's filters as DESIGN §7 query parameters (None = not filtered)."""

    from_ts: str | None = None  # RFC 3339 UTC
    to_ts: str | None = None
    experiment_id: str | None = None
    challenger_model: str | None = None
    applicant_id: str | None = None
    min_income: float | None = None
    max_income: float | None = None
    # Feature filters from the catalogue (GET /metrics/features): (name, min, max) for
    # number features, (name, values) for category and boolean ones (OR within one).
    feature_ranges: tuple[tuple[str, float | None, float | None], ...] = ()
    feature_values: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        pairs = (
            ("from", self.from_ts),
            ("to", self.to_ts),
            ("experiment_id", self.experiment_id),
            ("challenger_model", self.challenger_model),
            ("applicant_id", self.applicant_id),
            ("min_income", self.min_income),
            ("max_income", self.max_income),
        )
        for key, value in pairs:
            if value is None or value == "":
                continue
            out[key] = _fmt_number(value) if isinstance(value, float) else str(value)
        return out

    def pairs(self) -> list[tuple[str, str]]:
        """params() plus the feature filters: f.<name>.min/.max, repeated f.<name>=v."""
        out = list(self.params().items())
        for name, lo, hi in self.feature_ranges:
            if lo is not None:
                out.append((f"f.{name}.min", _fmt_number(lo)))
            if hi is not None:
                out.append((f"f.{name}.max", _fmt_number(hi)))
        for name, values in self.feature_values:
            out += [(f"f.{name}", v) for v in values]
        return out

    def with_challenger(self, model: str) -> Filters:
        return replace(self, challenger_model=model)


def _fmt_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _get_json(base: str, path: str, params: tuple[tuple[str, str], ...]) -> Any:
    url = base + path
    headers, verify = api_auth()
    try:
        resp = requests.get(url, params=list(params), timeout=TIMEOUT_S, headers=headers,
                            verify=verify)
    except requests.RequestException as exc:
        raise ApiUnavailable(base, _short_reason(exc)) from None
    if resp.status_code >= 500:
        raise ApiUnavailable(base, f"{path} answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        code, message, parameter = "http_error", resp.text[:200], None
        try:
            err = resp.json().get("error", {})
            code = str(err.get("code", code))
            message = str(err.get("message", message))
            parameter = err.get("parameter")
        except (ValueError, AttributeError):
            pass
        raise ApiError(path, resp.status_code, code, message, parameter)
    try:
        return resp.json()
    except ValueError:
        raise ApiUnavailable(base, f"{path} answered something that is not JSON") from None


def _short_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed (is CSG_API_CA_FILE the CA of the API's certificate?)"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_S:g} s"
    return type(exc).__name__


def _call(path: str, filters: Filters, **extra: Any) -> Any:
    pairs = filters.pairs() + [(k, str(v)) for k, v in extra.items() if v is not None]
    return _get_json(api_url(), path, tuple(sorted(pairs)))


def features() -> list[dict[str, Any]]:
    """The feature catalogue: [{"name","type","values"?,"count"}] by name; [] from an
    older API without /metrics/features."""
    try:
        return list(_get_json(api_url(), "/metrics/features", ()).get("features") or [])
    except ApiError as exc:
        if exc.status == 404:
            return []
        raise


def summary(filters: Filters) -> dict[str, Any]:
    return _call("/metrics/summary", filters)


def latency(filters: Filters, bucket: str) -> dict[str, Any]:
    return _call("/metrics/latency", filters, bucket=bucket)


def distribution(filters: Filters, bins: int = 20) -> dict[str, Any]:
    return _call("/metrics/distribution", filters, bins=bins)


def segments(filters: Filters, by: str, bands: str | None) -> dict[str, Any]:
    """bands None or "": the API's choice (a feature's deciles or its categories)."""
    return _call("/metrics/segments", filters, by=by, bands=bands or None)


def performance(filters: Filters, arm: str | None = None) -> dict[str, Any] | None:
    """None while the API has no performance endpoint yet (404) — the section says so.
    arm "live" | "shadow": only the live challengers' decisions, or the comparisons."""
    try:
        return _call("/metrics/performance", filters, arm=arm)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def reasons(filters: Filters) -> dict[str, Any] | None:
    """Reason codes of each model's declines and first-reason agreement (issue 17); None
    while the API has no /metrics/reasons yet (404) — the section says so."""
    try:
        return _call("/metrics/reasons", filters)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def stability(filters: Filters, bucket: str) -> dict[str, Any] | None:
    """Score PSI and feature CSI per bucket against the baselines (issue 22); None while
    the API has no /metrics/stability yet (404) — the section says so."""
    try:
        return _call("/metrics/stability", filters, bucket=bucket)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def baseline_jobs() -> list[dict[str, Any]]:
    """csg-persist's baseline jobs, newest first (GET /baselines: a POSTed baseline is
    stored by a job, its rollups rebuilt meanwhile); [] from an API before jobs (404, 405)."""
    try:
        return list(_get_json(api_url(), "/baselines", ()).get("jobs") or [])
    except ApiError as exc:
        if exc.status in (404, 405):
            return []
        raise


def events(filters: Filters, limit: int, offset: int) -> dict[str, Any]:
    return _call("/metrics/events", filters, limit=limit, offset=offset)


def clear_cache() -> None:
    _get_json.clear()
