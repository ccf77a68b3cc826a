//! Prometheus metrics for HTTP traffic: request counts and durations by route and status.

use amso_core::dashboard::drift_alerts;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Series {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Default)]
struct Observed {
    count: u64,
    sum_seconds: f64,
    /// Cumulative counts per bucket of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
}

/// The HTTP metrics registry. Cheap to clone; all clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    series: Arc<Mutex<BTreeMap<Series, Observed>>>,
}

impl HttpMetrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().expect("metrics lock is never poisoned");
        let entry = series
            .entry(Series {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                entry.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        let series = self.series.lock().expect("metrics lock is never poisoned");
        let mut out = String::new();
        out.push_str(
            "# HELP amso_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE amso_http_requests_total counter\n");
        for (s, o) in series.iter() {
            let _ = writeln!(out, "amso_http_requests_total{{{}}} {}", labels(s), o.count);
        }
        out.push_str(
            "# HELP amso_http_request_duration_seconds Time to produce the response headers.\n",
        );
        out.push_str("# TYPE amso_http_request_duration_seconds histogram\n");
        for (s, o) in series.iter() {
            let l = labels(s);
            for (bound, n) in BUCKETS.iter().zip(o.buckets) {
                let _ = writeln!(
                    out,
                    "amso_http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "amso_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                o.count
            );
            let _ = writeln!(
                out,
                "amso_http_request_duration_seconds_sum{{{l}}} {}",
                o.sum_seconds
            );
            let _ = writeln!(
                out,
                "amso_http_request_duration_seconds_count{{{l}}} {}",
                o.count
            );
        }
        out
    }
}

fn labels(s: &Series) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape(&s.method),
        escape(&s.route),
        s.status
    )
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The method as a label: one of the standard methods, or `other` for anything a client
/// makes up (each made-up method would otherwise be a new series forever).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Whether `headers` carry the metrics token, when one is configured.
pub fn token_ok(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compare digests so the time taken says nothing about how much of the token matched.
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

/// Middleware recording every request under its route pattern (not the raw path, so
/// ids in URLs do not explode the series count) and a bounded method label.
pub async fn track(State(metrics): State<HttpMetrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/pkg/") {
                "/pkg/{file}".into()
            } else {
                "unmatched".into()
            }
        });
    let response = next.run(req).await;
    metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Drift as Prometheus text: the last PSI and band of every market × category the drift
/// check has seen, and the alerts raised so far by band. Empty when the database cannot be
/// read (the HTTP metrics still go out).
pub async fn drift(db: &amso_core::platform::db::Db) -> String {
    let state = match drift_alerts::slice_states(db).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read drift state for /metrics");
            return String::new();
        }
    };
    let alerts = drift_alerts::alerts_by_band(db).await.unwrap_or_default();
    let mut out = String::new();
    out.push_str(
        "# HELP amso_drift_psi PSI of the score distribution, last 7 days against the 28 before.\n",
    );
    out.push_str("# TYPE amso_drift_psi gauge\n");
    for s in &state {
        let _ = writeln!(
            out,
            "amso_drift_psi{{market=\"{}\",category=\"{}\"}} {}",
            s.market, s.category, s.psi
        );
    }
    out.push_str("# HELP amso_drift_band Drift band now: 0 stable, 1 watch, 2 drifted.\n");
    out.push_str("# TYPE amso_drift_band gauge\n");
    for s in &state {
        let level = ["stable", "watch", "drifted"]
            .iter()
            .position(|b| *b == s.band)
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "amso_drift_band{{market=\"{}\",category=\"{}\"}} {level}",
            s.market, s.category
        );
    }
    out.push_str("# HELP amso_drift_alerts_total Rises into watch or drifted, by band.\n");
    out.push_str("# TYPE amso_drift_alerts_total counter\n");
    for band in ["watch", "drifted"] {
        let n = alerts.iter().find(|(b, _)| b == band).map_or(0, |a| a.1);
        let _ = writeln!(out, "amso_drift_alerts_total{{band=\"{band}\"}} {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = HttpMetrics::default();
        m.observe("GET", "/healthz", 200, 0.002);
        m.observe("GET", "/healthz", 200, 0.2);
        let text = m.render();
        assert!(text.contains(
            "amso_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0025\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::from_bytes(b"FOO").unwrap()), "other");
        assert_eq!(method_label(&Method::from_bytes(b"BAR").unwrap()), "other");
        assert_eq!(method_label(&Method::POST), "POST");
    }

    #[test]
    fn the_token_is_checked_only_when_set() {
        let mut h = HeaderMap::new();
        assert!(token_ok(&h, None));
        assert!(!token_ok(&h, Some("s3cret")));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(token_ok(&h, Some("s3cret")));
        assert!(!token_ok(&h, Some("other")));
    }
}
