//! Validating submitted ads (API, `amso import`, training files): one rule set for all.

use crate::vocab::market::{Language, Market};
use crate::vocab::policy::Category;
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// Longest accepted fields, in characters.
pub const MAX_EXTERNAL_ID: usize = 128;
pub const MAX_HEADLINE: usize = 300;
pub const MAX_BODY: usize = 5000;
pub const MAX_URL: usize = 2048;

/// An ad as submitted: the JSONL row and the API body share this shape.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SubmittedAd {
    pub external_id: Option<String>,
    pub advertiser_id: Option<String>,
    pub market: Option<String>,
    pub language: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    pub landing_url: Option<String>,
    pub daily_budget_usd: Option<f64>,
    /// Absent: unlabelled; `[]`: compliant.
    pub labels: Option<Vec<String>>,
}

/// A validated ad.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewAd {
    pub external_id: String,
    pub advertiser_id: String,
    pub market: Market,
    pub language: Option<Language>,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub daily_budget_usd: f64,
    pub labels: Option<Vec<Category>>,
}

impl NewAd {
    /// The ad's hashed features (see [`crate::engine::featurize`]).
    pub fn features(&self, buckets: u32) -> Vec<u32> {
        crate::engine::featurize::featurize(
            &self.headline,
            &self.body,
            self.landing_url.as_deref(),
            buckets,
        )
    }
}

fn required(field: &'static str, value: Option<String>) -> Result<String, String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("`{field}` is required")),
    }
}

fn bounded(field: &'static str, value: String, max: usize) -> Result<String, String> {
    let n = value.chars().count();
    if n > max {
        Err(format!(
            "`{field}` is {n} characters; at most {max} are accepted"
        ))
    } else {
        Ok(value)
    }
}

fn parse_language(code: &str) -> Result<Language, String> {
    let code = code.trim().to_ascii_lowercase();
    Language::ALL
        .into_iter()
        .find(|l| l.code() == code)
        .ok_or_else(|| format!("unknown language `{code}` (known: en, de, fr, pt, id, ja, ko, ar)"))
}

fn check_url(url: &str) -> Result<(), String> {
    let lower = url.trim().to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return Err("`landing_url` must start with http:// or https://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("`landing_url` has no valid host".into());
    }
    Ok(())
}

impl SubmittedAd {
    /// Checks every field; the error names the first problem found.
    pub fn validate(self) -> Result<NewAd, String> {
        let external_id = bounded(
            "external_id",
            required("external_id", self.external_id)?,
            MAX_EXTERNAL_ID,
        )?;
        let market: Market = required("market", self.market)?
            .parse()
            .map_err(|e: crate::vocab::market::UnknownMarket| e.to_string())?;
        let language = self
            .language
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_language(&l))
            .transpose()?;
        let headline = bounded(
            "headline",
            required("headline", self.headline)?,
            MAX_HEADLINE,
        )?;
        let body = bounded("body", self.body.unwrap_or_default(), MAX_BODY)?;
        let landing_url = match self.landing_url.filter(|u| !u.trim().is_empty()) {
            Some(u) => {
                let u = bounded("landing_url", u, MAX_URL)?;
                check_url(&u)?;
                Some(u.trim().to_string())
            }
            None => None,
        };
        let daily_budget_usd = self.daily_budget_usd.unwrap_or(0.0);
        if !daily_budget_usd.is_finite() || !(0.0..=10_000_000.0).contains(&daily_budget_usd) {
            return Err("`daily_budget_usd` must be between 0 and 10,000,000".into());
        }
        let labels = self
            .labels
            .map(|ls| {
                let mut cats = ls
                    .iter()
                    .map(|l| l.parse::<Category>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                cats.sort();
                cats.dedup();
                Ok::<_, String>(cats)
            })
            .transpose()?;
        let advertiser_id = bounded(
            "advertiser_id",
            self.advertiser_id
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| "unknown".into()),
            MAX_EXTERNAL_ID,
        )?;
        Ok(NewAd {
            external_id: external_id.trim().to_string(),
            advertiser_id,
            market,
            language,
            headline,
            body,
            landing_url,
            daily_budget_usd,
            labels,
        })
    }
}

/// A row of a JSONL file that could not be used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// Reads JSONL ads: good rows (with their line numbers) and the reasons bad rows were
/// refused. Blank lines are skipped; a bad row never stops the rest from loading.
pub fn read_jsonl(reader: impl BufRead) -> (Vec<(usize, NewAd)>, Vec<RowError>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = match line {
            Ok(b) => b,
            Err(e) => {
                bad.push(RowError {
                    line: line_no,
                    reason: format!("unreadable: {e}"),
                });
                break;
            }
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            bad.push(RowError {
                line: line_no,
                reason: "not valid UTF-8".into(),
            });
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SubmittedAd>(text) {
            Ok(raw) => match raw.validate() {
                Ok(ad) => good.push((line_no, ad)),
                Err(reason) => bad.push(RowError {
                    line: line_no,
                    reason,
                }),
            },
            Err(e) => bad.push(RowError {
                line: line_no,
                reason: format!("not a JSON ad object: {e}"),
            }),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_rows_are_separated_with_line_numbers() {
        let input = concat!(
            r#"{"external_id":"a1","market":"US","headline":"Shoes","body":"Nice","labels":[]}"#,
            "\n",
            "\n",
            r#"{"external_id":"a2","market":"XX","headline":"Shoes"}"#,
            "\n",
            "not json\n",
            r#"{"external_id":"a3","market":"jp","headline":"靴","labels":["scam","gambling","scam"]}"#,
            "\n",
            r#"{"external_id":"a4","market":"GB","headline":"Hi","landing_url":"javascript:alert(1)"}"#,
            "\n",
            r#"{"external_id":"a5","market":"GB","headline":"Hi","labels":["casino"]}"#,
            "\n",
        );
        let (good, bad) = read_jsonl(input.as_bytes());
        assert_eq!(good.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(good[0].1.labels, Some(vec![]));
        assert_eq!(
            good[1].1.labels,
            Some(vec![Category::Gambling, Category::Scam])
        );
        assert_eq!(good[1].1.market, Market::Jp);
        let lines: Vec<usize> = bad.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 6, 7]);
        assert!(bad[0].reason.contains("XX"));
        assert!(bad[2].reason.contains("landing_url"));
        assert!(bad[3].reason.contains("casino"));
    }

    #[test]
    fn limits_are_enforced() {
        let ad = SubmittedAd {
            external_id: Some("x".into()),
            market: Some("DE".into()),
            headline: Some("h".repeat(MAX_HEADLINE + 1)),
            ..Default::default()
        };
        assert!(ad.validate().unwrap_err().contains("headline"));
        let ad = SubmittedAd {
            external_id: Some("x".into()),
            market: Some("DE".into()),
            headline: Some("ok".into()),
            daily_budget_usd: Some(-1.0),
            ..Default::default()
        };
        assert!(ad.validate().is_err());
        assert!(read_jsonl(&b"\xff\xfe\n"[..]).1[0].reason.contains("UTF-8"));
    }
}
