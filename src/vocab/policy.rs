//! Policy categories an ad can violate, and what a market's policy says about each.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A policy category. An ad can violate several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Weapons,
    Drugs,
    Tobacco,
    Alcohol,
    Gambling,
    Adult,
    /// Deceptive offers, get-rich-quick schemes, phishing.
    Scam,
    /// Miracle cures, weight-loss promises.
    HealthClaims,
    Counterfeit,
    Political,
}

impl Category {
    /// Every category, in the model's output order (which must never change for a model).
    pub const ALL: [Category; 10] = [
        Category::Weapons,
        Category::Drugs,
        Category::Tobacco,
        Category::Alcohol,
        Category::Gambling,
        Category::Adult,
        Category::Scam,
        Category::HealthClaims,
        Category::Counterfeit,
        Category::Political,
    ];

    /// The stored name (`health_claims`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Weapons => "weapons",
            Category::Drugs => "drugs",
            Category::Tobacco => "tobacco",
            Category::Alcohol => "alcohol",
            Category::Gambling => "gambling",
            Category::Adult => "adult",
            Category::Scam => "scam",
            Category::HealthClaims => "health_claims",
            Category::Counterfeit => "counterfeit",
            Category::Political => "political",
        }
    }

    /// The category's position in [`Category::ALL`] and in model outputs.
    pub fn index(self) -> usize {
        Category::ALL
            .iter()
            .position(|c| *c == self)
            .expect("every category is in ALL")
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the known categories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy category `{0}`")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_in_a_fixed_order() {
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
        }
        assert!("casino".parse::<Category>().is_err());
    }
}
