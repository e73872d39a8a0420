"""Prometheus metrics, one registry per app (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ANSWER_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 60, 120)


class Metrics:
    """Every metric the hub exports, registered on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "dispatch_http_requests", "HTTP requests handled", ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "dispatch_http_request_seconds", "HTTP request latency", ["route", "method"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.events_published = Counter(
            "dispatch_events_published", "Events appended to the stream", ["type"], registry=r
        )
        self.events_unpublished = Gauge(
            "dispatch_events_unpublished", "Events waiting for Redis to come back", registry=r
        )
        self.ws_connections = Gauge(
            "dispatch_ws_connections", "Open WebSocket connections", ["channel"], registry=r
        )
        self.ws_dropped = Counter(
            "dispatch_ws_dropped", "Connections closed for falling behind", ["channel"],
            registry=r,
        )
        self.calls_received = Counter(
            "dispatch_calls_received", "Calls reported by telephony", registry=r
        )
        self.calls_answered = Counter("dispatch_calls_answered", "Calls answered", registry=r)
        self.calls_abandoned = Counter(
            "dispatch_calls_abandoned", "Calls abandoned before answer", registry=r
        )
        self.answer_seconds = Histogram(
            "dispatch_call_answer_seconds", "Time from first ring to answer",
            buckets=ANSWER_BUCKETS, registry=r,
        )
        self.slo_breaches = Counter(
            "dispatch_slo_breaches", "Calls still ringing at the answer target", registry=r
        )
        self.slo_share = Gauge(
            "dispatch_slo_answered_within_target_ratio",
            "Share of decided calls answered within the target", ["window"], registry=r,
        )
        self.slo_answer_p95 = Gauge(
            "dispatch_slo_answer_p95_seconds", "95th percentile time to answer", ["window"],
            registry=r,
        )
        self.slo_answer_rate = Gauge(
            "dispatch_slo_answer_rate_ratio", "Answered or called back / answered or abandoned",
            ["window"], registry=r,
        )
        self.calls_ringing = Gauge("dispatch_calls_ringing", "Calls ringing now", registry=r)
        self.callbacks_pending = Gauge(
            "dispatch_callbacks_pending", "Callbacks not yet resolved", registry=r
        )
        self.staffing_needed = Gauge(
            "dispatch_staffing_needed", "Ready call-takers needed for the target (Erlang C)",
            registry=r,
        )
        self.positions_ready = Gauge("dispatch_positions_ready", "Positions ready", registry=r)
        self.handover_seconds = Histogram(
            "dispatch_handover_seconds", "Arrival at hospital to handover", ["hospital"],
            buckets=(60, 300, 600, 900, 1200, 1800, 3600), registry=r,
        )
        self.quality = Gauge(
            "dispatch_quality_indicator", "A national 120 indicator over a rolling window "
            "(docs/quality.md): ratios 0..1, times in seconds", ["indicator", "window"], registry=r,
        )
        self.handovers_overdue = Gauge(
            "dispatch_handovers_overdue", "Patients waiting past the handover target", registry=r
        )
        self.live_state_rebuilds = Counter(
            "dispatch_live_state_rebuilds", "Times Redis live state was rebuilt", registry=r
        )
        self.assignments = Counter(
            "dispatch_assignments", "Assignments by how they ended or began", ["outcome"], registry=r
        )
        self.units_uncovered = Gauge(
            "dispatch_areas_uncovered", "Post areas with no available unit", registry=r
        )
