//! Who a user is to AMSO, and what each role may reach.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role. Each user has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works review queues in the markets they carry.
    Reviewer,
    /// Watches KPIs, tunes thresholds and policy, manages models.
    OpsHead,
    /// Reads and exports the weekly report.
    Executive,
    /// Manages users, API keys and settings.
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Reviewer, Role::OpsHead, Role::Executive, Role::Admin];

    /// The stored and typed name (`ops_head`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::OpsHead => "ops_head",
            Role::Executive => "executive",
            Role::Admin => "admin",
        }
    }

    /// The name people read (`Ops head`).
    pub fn label(self) -> &'static str {
        match self {
            Role::Reviewer => "Reviewer",
            Role::OpsHead => "Ops head",
            Role::Executive => "Executive",
            Role::Admin => "Admin",
        }
    }

    /// Whether the role may write rules and move them through their life (approving one
    /// live takes a second such person).
    pub fn writes_rules(self) -> bool {
        matches!(self, Role::OpsHead | Role::Admin)
    }

    /// Whether the role is limited to the markets a user carries.
    pub fn is_market_scoped(self) -> bool {
        matches!(self, Role::Reviewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the known roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (known: reviewer, ops_head, executive, admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// An area of the console; navigation and access checks are both derived from this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Area {
    Queues,
    Dashboards,
    Ads,
    Thresholds,
    Radar,
    Rules,
    Models,
    Reports,
    Users,
    ApiKeys,
    Audit,
}

impl Area {
    /// Every area, in navigation order.
    pub const ALL: [Area; 11] = [
        Area::Queues,
        Area::Dashboards,
        Area::Ads,
        Area::Thresholds,
        Area::Radar,
        Area::Rules,
        Area::Models,
        Area::Reports,
        Area::Users,
        Area::ApiKeys,
        Area::Audit,
    ];

    /// The page path of the area.
    pub fn path(self) -> &'static str {
        match self {
            Area::Queues => "/queues",
            Area::Dashboards => "/dashboards",
            Area::Ads => "/ads",
            Area::Thresholds => "/thresholds",
            Area::Radar => "/radar",
            Area::Rules => "/rules",
            Area::Models => "/models",
            Area::Reports => "/reports",
            Area::Users => "/admin/users",
            Area::ApiKeys => "/admin/keys",
            Area::Audit => "/admin/audit",
        }
    }

    /// The navigation label.
    pub fn label(self) -> &'static str {
        match self {
            Area::Queues => "Review queues",
            Area::Dashboards => "Dashboards",
            Area::Ads => "Ads",
            Area::Thresholds => "Thresholds & policy",
            Area::Radar => "Emerging risks",
            Area::Rules => "Rules",
            Area::Models => "Models",
            Area::Reports => "Reports",
            Area::Users => "Users",
            Area::ApiKeys => "API keys",
            Area::Audit => "Audit log",
        }
    }

    /// Whether a role may open this area.
    pub fn allows(self, role: Role) -> bool {
        use Role::*;
        match self {
            Area::Queues => matches!(role, Reviewer | OpsHead),
            Area::Dashboards => matches!(role, OpsHead | Executive | Admin),
            Area::Ads => matches!(role, OpsHead | Admin),
            Area::Thresholds => matches!(role, OpsHead),
            // Executives read rules; writing them is [`Role::writes_rules`].
            Area::Rules | Area::Radar => matches!(role, OpsHead | Admin | Executive),
            // Executives read the registry and comparisons; ops heads iterate the model.
            Area::Models => matches!(role, OpsHead | Admin | Executive),
            Area::Reports => matches!(role, Executive | OpsHead | Admin),
            Area::Users | Area::ApiKeys => matches!(role, Admin),
            Area::Audit => matches!(role, Admin | OpsHead),
        }
    }

    /// The area a path belongs to, if any (`/admin/users/7` → Users).
    pub fn for_path(path: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| {
            path == a.path()
                || path
                    .strip_prefix(a.path())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Where a role lands after login.
    pub fn home(role: Role) -> Area {
        match role {
            Role::Reviewer => Area::Queues,
            Role::OpsHead => Area::Dashboards,
            Role::Executive => Area::Reports,
            Role::Admin => Area::Users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!("ops-head".parse::<Role>(), Ok(Role::OpsHead));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn every_role_can_open_its_home() {
        for r in Role::ALL {
            assert!(Area::home(r).allows(r), "{r} cannot open its home");
        }
    }

    #[test]
    fn only_admins_manage_users() {
        for r in Role::ALL {
            assert_eq!(Area::Users.allows(r), r == Role::Admin);
        }
    }

    #[test]
    fn paths_map_to_areas_by_segment() {
        assert_eq!(Area::for_path("/admin/users"), Some(Area::Users));
        assert_eq!(Area::for_path("/admin/users/7"), Some(Area::Users));
        assert_eq!(Area::for_path("/admin/usersX"), None);
        assert_eq!(Area::for_path("/login"), None);
    }
}
