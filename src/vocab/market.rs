//! Markets the platform moderates and the languages their ads arrive in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A market: a country whose ad policy AMSO enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Market {
    Us,
    Gb,
    De,
    Fr,
    Br,
    Id,
    Jp,
    Kr,
    Ae,
    Sg,
}

impl Market {
    /// Every market, in display order.
    pub const ALL: [Market; 10] = [
        Market::Us,
        Market::Gb,
        Market::De,
        Market::Fr,
        Market::Br,
        Market::Id,
        Market::Jp,
        Market::Kr,
        Market::Ae,
        Market::Sg,
    ];

    /// ISO 3166-1 alpha-2 code, as stored and shown.
    pub fn code(self) -> &'static str {
        match self {
            Market::Us => "US",
            Market::Gb => "GB",
            Market::De => "DE",
            Market::Fr => "FR",
            Market::Br => "BR",
            Market::Id => "ID",
            Market::Jp => "JP",
            Market::Kr => "KR",
            Market::Ae => "AE",
            Market::Sg => "SG",
        }
    }

    /// English name of the country.
    pub fn name(self) -> &'static str {
        match self {
            Market::Us => "United States",
            Market::Gb => "United Kingdom",
            Market::De => "Germany",
            Market::Fr => "France",
            Market::Br => "Brazil",
            Market::Id => "Indonesia",
            Market::Jp => "Japan",
            Market::Kr => "South Korea",
            Market::Ae => "United Arab Emirates",
            Market::Sg => "Singapore",
        }
    }

    /// Languages ads in this market usually arrive in, the main one first.
    pub fn languages(self) -> &'static [Language] {
        use Language::*;
        match self {
            Market::Us | Market::Gb => &[En],
            Market::De => &[De, En],
            Market::Fr => &[Fr, En],
            Market::Br => &[Pt, En],
            Market::Id => &[Id, En],
            Market::Jp => &[Ja, En],
            Market::Kr => &[Ko, En],
            Market::Ae => &[Ar, En],
            Market::Sg => &[En],
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text was not one of the known market codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown market `{0}` (known: US, GB, DE, FR, BR, ID, JP, KR, AE, SG)")]
pub struct UnknownMarket(pub String);

impl FromStr for Market {
    type Err = UnknownMarket;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        Market::ALL
            .into_iter()
            .find(|m| m.code() == code)
            .ok_or_else(|| UnknownMarket(s.to_string()))
    }
}

/// Parses a comma-separated list such as `US,GB` (blank entries ignored, order kept,
/// duplicates dropped).
pub fn parse_market_list(list: &str) -> Result<Vec<Market>, UnknownMarket> {
    let mut markets = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let market: Market = part.parse()?;
        if !markets.contains(&market) {
            markets.push(market);
        }
    }
    Ok(markets)
}

/// A language ads are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    De,
    Fr,
    Pt,
    Id,
    Ja,
    Ko,
    Ar,
}

impl Language {
    /// Every language, in display order.
    pub const ALL: [Language; 8] = [
        Language::En,
        Language::De,
        Language::Fr,
        Language::Pt,
        Language::Id,
        Language::Ja,
        Language::Ko,
        Language::Ar,
    ];

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Fr => "fr",
            Language::Pt => "pt",
            Language::Id => "id",
            Language::Ja => "ja",
            Language::Ko => "ko",
            Language::Ar => "ar",
        }
    }

    /// Whether text in this language is written right to left.
    pub fn is_rtl(self) -> bool {
        matches!(self, Language::Ar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!("gb".parse::<Market>(), Ok(Market::Gb));
        assert_eq!(" AE ".parse::<Market>(), Ok(Market::Ae));
        assert!("XX".parse::<Market>().is_err());
    }

    #[test]
    fn parses_lists_without_duplicates() {
        assert_eq!(
            parse_market_list("US, gb,,US").unwrap(),
            vec![Market::Us, Market::Gb]
        );
        assert_eq!(parse_market_list("").unwrap(), vec![]);
        let err = parse_market_list("US,ZZ").unwrap_err();
        assert!(err.to_string().contains("ZZ"));
    }

    #[test]
    fn every_market_round_trips_and_has_a_language() {
        for m in Market::ALL {
            assert_eq!(m.code().parse::<Market>(), Ok(m));
            assert!(!m.languages().is_empty());
        }
        assert!(Market::Ae.languages()[0].is_rtl());
    }
}
