//! Property tests (proptest) over what outsiders feed the product: any bytes as an ad, any
//! JSONL file, any week or time-zone string, any text in a CSV cell. Nothing panics, bad
//! input is refused with a reason, and nothing a spreadsheet would run as a formula is ever
//! written.

use crate::engine::featurize::{featurize, normalize, tokens};
use crate::intake::validate::{MAX_BODY, MAX_HEADLINE, SubmittedAd, read_jsonl};
use crate::platform::csv;
use crate::report::week::{IsoWeek, time_zone};
use proptest::prelude::*;

/// Text of every kind an ad may carry: any Unicode (CJK, Arabic, combining marks, emoji,
/// controls), sometimes very long.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,400}",
        proptest::collection::vec(any::<char>(), 0..6000).prop_map(|c| c.into_iter().collect()),
        "[=+@\\-\t\r;,\"\n a-z0-9]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_ad_is_validated_or_refused_and_featurized_without_panic(
        headline in any_text(),
        body in any_text(),
        url in proptest::option::of(any_text()),
        market in proptest::option::of("[A-Za-z]{0,3}"),
        budget in proptest::option::of(any::<f64>()),
    ) {
        let ad = SubmittedAd {
            external_id: Some("prop-1".into()),
            market,
            headline: Some(headline.clone()),
            body: Some(body.clone()),
            landing_url: url.clone(),
            daily_budget_usd: budget,
            ..Default::default()
        };
        match ad.validate() {
            Ok(valid) => {
                prop_assert!(valid.headline.chars().count() <= MAX_HEADLINE);
                prop_assert!(valid.body.chars().count() <= MAX_BODY);
                prop_assert!(valid.daily_budget_usd.is_finite() && valid.daily_budget_usd >= 0.0);
                let ids = valid.features(1 << 15);
                prop_assert!(ids.iter().all(|&i| i < 1 << 15));
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
        // The featurizer takes any text, valid ad or not.
        let ids = featurize(&headline, &body, url.as_deref(), 1 << 17);
        prop_assert!(ids.iter().all(|&i| i < 1 << 17));
        let norm = normalize(&headline);
        prop_assert!(tokens(&norm).iter().all(|t| !t.is_empty()));
    }

    #[test]
    fn any_jsonl_file_loads_its_good_rows_and_names_every_bad_one(
        lines in proptest::collection::vec(prop_oneof![
            any::<Vec<u8>>(),
            any_text().prop_map(String::into_bytes),
            (any_text(), "[A-Z]{2}").prop_map(|(h, m)| {
                serde_json::json!({"external_id": h.chars().take(20).collect::<String>(),
                    "market": m, "headline": h, "body": "b"}).to_string().into_bytes()
            }),
            Just(br#"{"external_id":"ok-1","market":"US","headline":"Fresh bread","body":"Daily."}"#.to_vec()),
        ], 0..30)
    ) {
        let mut file = Vec::new();
        for l in &lines {
            file.extend(l.iter().filter(|&&b| b != b'\n'));
            file.push(b'\n');
        }
        let (good, bad) = read_jsonl(std::io::Cursor::new(&file));
        let used: Vec<usize> = good.iter().map(|(n, _)| *n).chain(bad.iter().map(|e| e.line)).collect();
        let mut sorted = used.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), used.len(), "a line is counted once");
        prop_assert!(used.iter().all(|&n| n >= 1 && n <= lines.len()));
        prop_assert!(bad.iter().all(|e| !e.reason.is_empty()));
        for (n, line) in lines.iter().enumerate() {
            // Blank as the reader sees it: `str::trim` (Unicode White_Space, which also takes
            // the vertical tab that `u8::is_ascii_whitespace` does not).
            let blank = String::from_utf8_lossy(line).trim().is_empty();
            prop_assert!(blank || used.contains(&(n + 1)), "line {} neither loaded nor reported", n + 1);
        }
    }

    #[test]
    fn any_week_or_time_zone_string_parses_or_is_refused(text in any_text(), year in any::<i32>(), week in any::<u32>()) {
        let _ = text.parse::<IsoWeek>();
        let _ = time_zone(&text);
        if let Ok(w) = format!("{year}-W{week:02}").parse::<IsoWeek>() {
            prop_assert!((2000..=2200).contains(&w.year));
            prop_assert!((1..=53).contains(&w.week));
            prop_assert_eq!(w.to_string().parse::<IsoWeek>().unwrap(), w);
        }
    }

    #[test]
    fn no_csv_cell_runs_as_a_formula_in_any_locale(cells in proptest::collection::vec(any_text(), 1..6)) {
        let line = csv::record(&cells);
        // Read the line back the way a spreadsheet would, splitting on `,` and, in locales
        // that use it, on `;`: no cell may start with a formula character.
        for separator in [',', ';'] {
            for cell in split_cells(&line, separator) {
                let first = cell.chars().next();
                prop_assert!(
                    !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                    "{:?} splits on {:?} into a formula cell {:?}", line, separator, cell
                );
            }
        }
        let back = split_cells(&line, ',');
        prop_assert_eq!(back.len(), cells.len());
    }
}

/// The cells of one CSV record as a spreadsheet reads them: quoted fields are one cell with
/// `""` unescaped; elsewhere `separator` ends a cell.
fn split_cells(line: &str, separator: char) -> Vec<String> {
    let line = line.strip_suffix("\r\n").unwrap_or(line);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' if cell.is_empty() && !quoted => quoted = true,
            '"' if quoted => quoted = false,
            c if c == separator && !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}
