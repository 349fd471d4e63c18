"""CSG dashboard: Champion vs Challenger at a glance (DESIGN §8).

Run: streamlit run dashboard/app.py  (CSG_API_URL, default http://127.0.0.1:8090;
CSG_REFRESH_SECONDS, default 5, 0 = off). Reads only the csg-persist REST API, through
data.py. The sidebar's widgets live outside the auto-refresh fragment so they keep their
values; the sections re-render inside it every CSG_REFRESH_SECONDS.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `streamlit run` puts this directory on sys.path; AppTest and other runners may not.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import streamlit as st  # noqa: E402

import banners  # noqa: E402
import data  # noqa: E402
import sidebar  # noqa: E402
from common import Context, colour_map  # noqa: E402
from sections import (  # noqa: E402
    distributions,
    divergence,
    events,
    latency,
    performance,
    reasons,
    segments,
    stability,
)
from sections import summary as summary_section  # noqa: E402

SAMPLE_SIZE = 1000  # recent events used for filter options and default band edges


def _quiet(fn: Callable[..., Any], *args: Any) -> Any:
    """For the sidebar's option lists: an unreachable API just means no options yet."""
    try:
        return fn(*args)
    except (data.ApiUnavailable, data.ApiError):
        return None


def down_banner(exc: data.ApiUnavailable, refresh_s: float) -> str:
    again = f" Retrying every {refresh_s:g} s." if refresh_s > 0 else " Reload to retry."
    return (f"**The CSG metrics API is not reachable** at `{exc.url}` ({exc.reason}). "
            "Is csg-persist running? (`make up` starts it; set CSG_API_URL to point the "
            f"dashboard elsewhere.){again}")


def render_sections(filters: data.Filters, sample: list[dict[str, Any]],
                    catalogue: list[dict[str, Any]]) -> None:
    unfiltered = data.summary(data.Filters())
    ctx = Context(filters, data.summary(filters), colour_map(unfiltered.get("models") or []))
    for text in banners.srm(ctx.summary):
        st.error(text, icon=":material/balance:")
    held = banners.suspended(ctx.summary)
    if held:
        st.warning(held, icon=":material/pause_circle:")
    sections: list[tuple[str, Callable[[], None]]] = [
        (summary_section.TITLE, lambda: summary_section.render(ctx)),
        (distributions.TITLE, lambda: distributions.render(ctx)),
        (latency.TITLE, lambda: latency.render(ctx)),
        (divergence.TITLE, lambda: divergence.render(ctx)),
        (reasons.TITLE, lambda: reasons.render(ctx)),
        (segments.TITLE, lambda: segments.render(ctx, sample, catalogue)),
        (performance.TITLE, lambda: performance.render(ctx)),
        (stability.TITLE, lambda: stability.render(ctx)),
        (events.TITLE, lambda: events.render(ctx)),
    ]
    for title, render in sections:
        try:
            render()
        except data.ApiError as exc:
            # One section's bad request must not hide the others.
            where = f" (parameter `{exc.parameter}`)" if exc.parameter else ""
            st.error(f"{title}: the API rejected the request{where}: {exc.message}")


def main() -> None:
    st.set_page_config(page_title="CSG · Champion vs Challenger",
                       page_icon=":material/monitoring:", layout="wide")
    refresh_s = data.refresh_seconds()
    unfiltered = _quiet(data.summary, data.Filters())
    sample = _quiet(data.events, data.Filters(), SAMPLE_SIZE, 0)
    catalogue = _quiet(data.features) or []
    sidebar.render(unfiltered, sample, refresh_s, catalogue)
    auto = refresh_s > 0 and bool(st.session_state.get("f_autorefresh", True))
    st.title("Credit Score Gateway · Champion vs Challenger")
    sample_events = (sample or {}).get("events") or []

    @st.fragment(run_every=refresh_s if auto else None)
    def body() -> None:
        banner = st.empty()
        filters, problem = sidebar.current_filters()
        stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
        st.caption(f"Updated {stamp}" + (f" · refreshes every {refresh_s:g} s" if auto else ""))
        if problem:
            st.warning(problem)
        try:
            render_sections(filters, sample_events, catalogue)
        except data.ApiUnavailable as exc:
            st.session_state["api_was_down"] = True
            banner.error(down_banner(exc, refresh_s if auto else 0), icon=":material/cloud_off:")
            return
        except data.ApiError as exc:  # the filters themselves were refused
            where = f" `{exc.parameter}`" if exc.parameter else ""
            banner.error(f"**The metrics API rejected the filters**{where}: {exc.message}. "
                         "Change them in the sidebar.", icon=":material/filter_alt_off:")
            return
        if st.session_state.pop("api_was_down", False):
            # Back from an outage: rerun the whole page so the sidebar's options refill.
            st.rerun()

    body()


main()
