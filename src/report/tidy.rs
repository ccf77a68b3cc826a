//! The report as one tidy table, `week, market, category, metric, value, low, high, n`: the
//! CSV download, and what tests compare with the KPIs API. Market and category `ALL` mean every
//! one in scope. Shares are fractions (0.125, not 12.5%), durations seconds, money USD.

use crate::dashboard::view::{Kpis, WeeklyReport};
use crate::metrics::kpi::Estimate;

/// One row of the tidy table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub week: String,
    pub market: String,
    pub category: String,
    pub metric: String,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub n: Option<f64>,
}

pub const HEADER: [&str; 8] = [
    "week", "market", "category", "metric", "value", "low", "high", "n",
];

struct Rows<'a> {
    week: &'a str,
    out: Vec<Row>,
}

impl Rows<'_> {
    fn value(&mut self, market: &str, category: &str, metric: &str, value: Option<f64>) {
        self.out.push(Row {
            week: self.week.to_string(),
            market: market.to_string(),
            category: category.to_string(),
            metric: metric.to_string(),
            value,
            low: None,
            high: None,
            n: None,
        });
    }

    fn counted(&mut self, market: &str, category: &str, metric: &str, value: Option<f64>, n: f64) {
        self.value(market, category, metric, value);
        self.out.last_mut().expect("just pushed").n = Some(n);
    }

    fn estimate(&mut self, market: &str, category: &str, metric: &str, e: Option<Estimate>) {
        self.out.push(Row {
            week: self.week.to_string(),
            market: market.to_string(),
            category: category.to_string(),
            metric: metric.to_string(),
            value: e.map(|e| e.value),
            low: e.map(|e| e.low),
            high: e.map(|e| e.high),
            n: e.map(|e| e.n),
        });
    }

    fn kpis(&mut self, market: &str, k: &Kpis) {
        let a = "ALL";
        self.value(market, a, "decided", Some(k.decided));
        self.value(market, a, "auto_approved", Some(k.auto_approved));
        self.value(market, a, "auto_rejected", Some(k.auto_rejected));
        self.value(market, a, "routed_to_review", Some(k.routed));
        self.counted(market, a, "automation_rate", k.automation_rate, k.decided);
        self.value(market, a, "checked", Some(k.checked));
        self.value(market, a, "overridden", Some(k.overridden));
        self.counted(market, a, "override_rate", k.override_rate, k.checked);
        self.estimate(market, a, "precision", k.precision);
        self.estimate(market, a, "recall", k.recall);
        self.value(market, a, "appeals_decided", Some(k.appeals_decided));
        self.counted(
            market,
            a,
            "appeal_overturn_rate",
            k.appeal_overturn_rate,
            k.appeals_decided,
        );
        self.counted(market, a, "sla_p50_seconds", k.sla_p50_seconds, k.sla_n);
        self.counted(market, a, "sla_p95_seconds", k.sla_p95_seconds, k.sla_n);
        self.counted(market, a, "sla_within_share", k.sla_within, k.sla_n);
        self.value(market, a, "reviews", Some(k.reviews));
        self.counted(
            market,
            a,
            "median_handling_seconds",
            k.median_handling_seconds,
            k.reviews,
        );
        self.value(market, a, "cost_total_usd", Some(k.cost.total));
        self.value(market, a, "cost_review_usd", Some(k.cost.review));
        self.value(market, a, "cost_inference_usd", Some(k.cost.inference));
        self.value(
            market,
            a,
            "cost_false_positive_usd",
            Some(k.cost.false_positive),
        );
        self.value(
            market,
            a,
            "cost_false_negative_usd",
            Some(k.cost.false_negative),
        );
        self.counted(
            market,
            a,
            "cost_per_1k_ads_usd",
            k.cost.per_1k_ads,
            k.decided,
        );
        // Model-assisted estimates (audit-only where the slice fell back), with intervals.
        if let Some(e) = &k.estimates {
            let f = &e.figures;
            self.estimate(market, a, "precision_model_assisted", f.precision);
            self.estimate(market, a, "recall_model_assisted", f.recall);
            for (metric, i) in [
                (
                    "cost_false_positive_model_assisted_usd",
                    f.false_positive_cost_usd,
                ),
                (
                    "cost_false_negative_model_assisted_usd",
                    f.false_negative_cost_usd,
                ),
                ("cost_per_1k_ads_model_assisted_usd", f.cost_per_1k_ads),
            ] {
                self.out.push(Row {
                    week: self.week.to_string(),
                    market: market.to_string(),
                    category: a.to_string(),
                    metric: metric.to_string(),
                    value: i.map(|i| i.value),
                    low: i.map(|i| i.low),
                    high: i.map(|i| i.high),
                    n: None,
                });
            }
            self.value(market, a, "tripwire", Some(f64::from(u8::from(e.tripwire))));
        }
    }
}

/// Every figure of the report as tidy rows: the week (totals, markets, categories, drift,
/// override reasons, rules as `rule:ID` in the category column), then the week before (totals and markets) for comparison.
pub fn rows(r: &WeeklyReport) -> Vec<Row> {
    let mut t = Rows {
        week: &r.week,
        out: Vec::new(),
    };
    t.kpis("ALL", &r.totals);
    for m in &r.markets {
        t.kpis(&m.market, &m.week);
    }
    for c in &r.categories {
        t.estimate(&c.market, &c.category, "precision", c.precision);
        t.estimate(&c.market, &c.category, "recall", c.recall);
        t.value(&c.market, &c.category, "f1", c.f1);
        t.value(&c.market, &c.category, "checked", Some(c.checked));
        t.value(&c.market, &c.category, "overridden", Some(c.overridden));
        t.counted(
            &c.market,
            &c.category,
            "override_rate",
            c.override_rate,
            c.checked,
        );
    }
    for d in &r.drift {
        t.counted(&d.market, &d.category, "psi", d.psi, d.current_n);
    }
    for reason in &r.reasons {
        t.counted(
            "ALL",
            "ALL",
            &format!("overrides_by_reason:{}", reason.key),
            Some(reason.overrides),
            reason.reviews,
        );
    }
    t.value("ALL", "ALL", "drift_alerts", Some(r.alerts.len() as f64));
    // Rules span markets; the category column names the rule.
    for x in &r.rules {
        let rule = format!("rule:{}", x.id);
        t.value("ALL", &rule, "rule_hits_live", Some(x.hits_live as f64));
        t.value(
            "ALL",
            &rule,
            "rule_hits_background",
            Some(x.hits_background as f64),
        );
        t.estimate("ALL", &rule, "rule_precision", x.precision);
    }
    let previous = crate::report::week::IsoWeek::of(
        chrono::NaiveDate::parse_from_str(&r.previous_window.from, "%Y-%m-%d").unwrap_or_default(),
    )
    .to_string();
    let mut p = Rows {
        week: &previous,
        out: Vec::new(),
    };
    p.kpis("ALL", &r.previous);
    for m in &r.markets {
        p.kpis(&m.market, &m.previous);
    }
    t.out.extend(p.out);
    t.out
}

/// A number as CSV writes it: plain decimal, enough digits to read back the same value.
fn number(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        }
        _ => String::new(),
    }
}

/// The tidy table as CSV: RFC 4180, UTF-8, CRLF line ends; text that could be read as a
/// formula is neutralised (see `crate::platform::csv`). Empty cells are figures that do not exist
/// (no samples).
pub fn csv(r: &WeeklyReport) -> String {
    let mut out = crate::platform::csv::record(&HEADER);
    for row in rows(r) {
        // Text goes through the neutralising writer; numbers are numbers.
        let text =
            crate::platform::csv::record(&[&row.week, &row.market, &row.category, &row.metric]);
        let mut line = text.trim_end_matches("\r\n").to_string();
        for v in [row.value, row.low, row.high, row.n] {
            line.push(',');
            line.push_str(&number(v));
        }
        line.push_str("\r\n");
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::view::{OverrideCount, WeeklyReport};

    #[test]
    fn hostile_reason_codes_cannot_become_formulas() {
        let r = WeeklyReport {
            week: "2026-W47".into(),
            previous_window: crate::dashboard::view::Window {
                from: "2026-11-09".into(),
                ..Default::default()
            },
            reasons: vec![OverrideCount {
                key: "=cmd|' /C calc'!A0".into(),
                label: "x".into(),
                reviews: 3.0,
                overrides: 2.0,
                rate: None,
            }],
            ..WeeklyReport::default()
        };
        let text = csv(&r);
        assert!(text.starts_with("week,market,category,metric,value,low,high,n\r\n"));
        let line = text
            .lines()
            .find(|l| l.contains("overrides_by_reason"))
            .unwrap();
        assert_eq!(
            line,
            "2026-W47,ALL,ALL,overrides_by_reason:=cmd|' /C calc'!A0,2,,,3"
        );
        // The metric cell does not start with '=': the code sits after a fixed prefix.
        assert!(text.contains("2026-W46,ALL,ALL,decided,0,,,"));
        assert_eq!(number(Some(-0.25)), "-0.25");
        assert_eq!(number(None), "");
    }
}
