//! Users, their roles and market scopes.

use crate::access::audit::{self, Actor, NewEntry};
use crate::access::password;
use crate::platform::db::{Db, Flag};
use crate::platform::time::{Millis, now_millis};
use crate::vocab::market::Market;
use crate::vocab::role::Role;
use serde::Serialize;
use serde_json::json;
use sqlx::{Any, Executor};

/// A user as the rest of the product sees it (never with the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Markets the user carries; for reviewers this is their whole scope.
    pub markets: Vec<Market>,
    pub disabled: bool,
    pub demo_credentials: bool,
    pub created_at: Millis,
    /// IANA time zone their days and date windows are read in.
    pub time_zone: String,
    /// Whether someone chose it (until then the browser proposes its own at login).
    pub time_zone_chosen: bool,
    /// ISO 639-1 codes of the languages they read, sorted; empty: any (claim-next does not
    /// match on language for them).
    pub languages: Vec<String>,
}

/// What is needed to create a user.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub markets: Vec<Market>,
    pub password: String,
    pub demo_credentials: bool,
    /// IANA time zone; `None`: UTC.
    pub time_zone: Option<String>,
    /// ISO 639-1 codes; empty: any language.
    pub languages: Vec<String>,
}

/// A change to an existing user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub markets: Option<Vec<Market>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
    pub time_zone: Option<String>,
    pub languages: Option<Vec<String>>,
}

/// Why a user operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    #[error("a user with email {0} already exists")]
    DuplicateEmail(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("a reviewer must carry at least one market")]
    ReviewerWithoutMarkets,
    #[error("display name must be 1 to 100 characters")]
    InvalidDisplayName,
    #[error("no user with id {0}")]
    NotFound(i64),
    #[error("you cannot disable or demote your own account")]
    SelfLockout,
    #[error("time_zone: `{0}` is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin, UTC)")]
    InvalidTimeZone(String),
    #[error("languages: `{0}` is not an ISO 639-1 language code (two letters, e.g. ja, en)")]
    InvalidLanguage(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    disabled: Flag,
    demo_credentials: Flag,
    created_at: i64,
    time_zone: String,
    time_zone_chosen: Flag,
    languages: String,
}

const USER_COLUMNS: &str = "id, email, display_name, role, disabled, demo_credentials, created_at, time_zone, time_zone_chosen, languages";

/// Lower-cased, trimmed email, or an error if it does not look like one.
pub fn normalize_email(email: &str) -> Result<String, UserError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(UserError::InvalidEmail(email))
    }
}

/// The longest time zone name accepted (the longest IANA name has 32 characters).
pub const MAX_TIME_ZONE_LEN: usize = 64;

/// The IANA name, or an error naming the field.
pub fn check_time_zone(zone: &str) -> Result<String, UserError> {
    let zone = zone.trim();
    if zone.len() > MAX_TIME_ZONE_LEN {
        return Err(UserError::InvalidTimeZone(
            zone.chars().take(MAX_TIME_ZONE_LEN).collect(),
        ));
    }
    zone.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| UserError::InvalidTimeZone(zone.chars().take(64).collect()))
}

/// Every ISO 639-1 code, sorted.
const ISO_639_1: [&str; 184] = [
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// The languages, lower-cased, each an ISO 639-1 code, sorted and without repeats.
pub fn check_languages<S: AsRef<str>>(codes: &[S]) -> Result<Vec<String>, UserError> {
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        let code = code.as_ref().trim().to_ascii_lowercase();
        if code.is_empty() {
            continue;
        }
        let known = ISO_639_1.binary_search(&code.as_str()).is_ok();
        if !known {
            return Err(UserError::InvalidLanguage(code.chars().take(16).collect()));
        }
        out.push(code);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The longest list of languages accepted, as typed.
pub const MAX_LANGUAGES_LEN: usize = 200;

/// A comma-separated list of language codes, checked (see [`check_languages`]).
pub fn parse_languages(list: &str) -> Result<Vec<String>, UserError> {
    if list.len() > MAX_LANGUAGES_LEN {
        return Err(UserError::InvalidLanguage(format!(
            "{}… (the list is limited to {MAX_LANGUAGES_LEN} characters)",
            list.chars().take(8).collect::<String>()
        )));
    }
    check_languages(&list.split(',').collect::<Vec<_>>())
}

fn check_display_name(name: &str) -> Result<String, UserError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(UserError::InvalidDisplayName);
    }
    Ok(name.to_string())
}

async fn markets_of<'e, E>(exec: E, user_id: i64) -> sqlx::Result<Vec<Market>>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<(String,)> =
        sqlx::query_as("select market from user_markets where user_id = $1 order by market")
            .bind(user_id)
            .fetch_all(exec)
            .await?;
    Ok(rows.into_iter().filter_map(|(m,)| m.parse().ok()).collect())
}

fn sort_markets(markets: &mut Vec<Market>) {
    markets.sort();
    markets.dedup();
}

impl UserRow {
    fn into_user(self, mut markets: Vec<Market>) -> User {
        sort_markets(&mut markets);
        User {
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            // The column has a check constraint, so an unknown role cannot be stored.
            role: self.role.parse().unwrap_or(Role::Reviewer),
            markets,
            disabled: self.disabled.0,
            demo_credentials: self.demo_credentials.0,
            created_at: self.created_at,
            time_zone: self.time_zone,
            time_zone_chosen: self.time_zone_chosen.0,
            languages: self
                .languages
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// Creates a user (hashing the password on a blocking thread) and audits it.
pub async fn create(db: &Db, actor: &Actor, new: NewUser) -> Result<User, UserError> {
    let email = normalize_email(&new.email)?;
    let display_name = check_display_name(&new.display_name)?;
    if let Some(why) = password::weakness(&new.password) {
        return Err(UserError::WeakPassword(why));
    }
    let mut markets = new.markets;
    sort_markets(&mut markets);
    if new.role.is_market_scoped() && markets.is_empty() {
        return Err(UserError::ReviewerWithoutMarkets);
    }
    let time_zone_chosen = new.time_zone.is_some();
    let time_zone = check_time_zone(new.time_zone.as_deref().unwrap_or("UTC"))?;
    let languages = check_languages(&new.languages)?;
    let demo_credentials = new.demo_credentials || password::is_published_demo(&new.password);
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .expect("password hashing does not panic");

    let mut tx = db.begin_write().await?;
    let now = now_millis();
    let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
        "insert into users (email, display_name, role, password_hash, disabled, demo_credentials, created_at, updated_at, time_zone, time_zone_chosen, languages) \
         values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) returning id",
    )
    .bind(&email)
    .bind(&display_name)
    .bind(new.role.as_str())
    .bind(&hash)
    .bind(false)
    .bind(demo_credentials)
    .bind(now)
    .bind(&time_zone)
    .bind(time_zone_chosen)
    .bind(languages.join(","))
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok((id,)) => id,
        Err(e) if is_unique_violation(&e) => return Err(UserError::DuplicateEmail(email)),
        Err(e) => return Err(e.into()),
    };
    set_markets(&mut tx, id, &markets).await?;
    let user = User {
        id,
        email,
        display_name,
        role: new.role,
        markets,
        disabled: false,
        demo_credentials,
        created_at: now,
        time_zone,
        time_zone_chosen,
        languages,
    };
    audit::record(
        &mut *tx,
        NewEntry {
            actor,
            action: "user.create",
            object: format!("user:{id}"),
            before: None,
            after: Some(audit_view(&user)),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

async fn set_markets(
    tx: &mut crate::platform::db::WriteTx,
    user_id: i64,
    markets: &[Market],
) -> sqlx::Result<()> {
    sqlx::query("delete from user_markets where user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for market in markets {
        sqlx::query("insert into user_markets (user_id, market) values ($1, $2)")
            .bind(user_id)
            .bind(market.code())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The fields of a user worth keeping in the audit log.
fn audit_view(user: &User) -> serde_json::Value {
    json!({
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "markets": user.markets,
        "disabled": user.disabled,
        "time_zone": user.time_zone,
        "languages": user.languages,
    })
}

/// Applies `change` to user `id` on behalf of `actor` (whose own id is `actor_id`, if a
/// user), auditing before and after.
pub async fn update(
    db: &Db,
    actor: &Actor,
    actor_id: Option<i64>,
    id: i64,
    change: UserChange,
) -> Result<User, UserError> {
    let before = find(db, id).await?.ok_or(UserError::NotFound(id))?;
    if actor_id == Some(id)
        && (change.disabled == Some(true) || change.role.is_some_and(|r| r != before.role))
    {
        return Err(UserError::SelfLockout);
    }
    let mut after = before.clone();
    if let Some(name) = &change.display_name {
        after.display_name = check_display_name(name)?;
    }
    if let Some(role) = change.role {
        after.role = role;
    }
    if let Some(mut markets) = change.markets {
        sort_markets(&mut markets);
        after.markets = markets;
    }
    if let Some(disabled) = change.disabled {
        after.disabled = disabled;
    }
    if let Some(zone) = &change.time_zone {
        after.time_zone = check_time_zone(zone)?;
        after.time_zone_chosen = true;
    }
    if let Some(languages) = &change.languages {
        after.languages = check_languages(languages)?;
    }
    if after.role.is_market_scoped() && after.markets.is_empty() {
        return Err(UserError::ReviewerWithoutMarkets);
    }
    let new_hash = match change.password {
        Some(password) => {
            if let Some(why) = password::weakness(&password) {
                return Err(UserError::WeakPassword(why));
            }
            // A published demo password set again is public again: flagged, so production
            // refuses it.
            let published = password::is_published_demo(&password);
            let hash = tokio::task::spawn_blocking(move || password::hash(&password))
                .await
                .expect("password hashing does not panic");
            Some((hash, published))
        }
        None => None,
    };

    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update users set display_name = $1, role = $2, disabled = $3, updated_at = $4, \
         time_zone = $5, time_zone_chosen = $6, languages = $7 where id = $8",
    )
    .bind(&after.display_name)
    .bind(after.role.as_str())
    .bind(after.disabled)
    .bind(now_millis())
    .bind(&after.time_zone)
    .bind(after.time_zone_chosen)
    .bind(after.languages.join(","))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if let Some((hash, published)) = &new_hash {
        // A changed password clears the demo flag unless it is a published one again.
        sqlx::query("update users set password_hash = $1, demo_credentials = $2 where id = $3")
            .bind(hash)
            .bind(*published)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        after.demo_credentials = *published;
    }
    if after.markets != before.markets {
        set_markets(&mut tx, id, &after.markets).await?;
    }
    let mut after_view = audit_view(&after);
    if new_hash.is_some() {
        after_view["password"] = json!("changed");
    }
    audit::record(
        &mut *tx,
        NewEntry {
            actor,
            action: "user.update",
            object: format!("user:{id}"),
            before: Some(audit_view(&before)),
            after: Some(after_view),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The user with this id, if any.
pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    match row {
        Some(row) => {
            let markets = markets_of(db.pool(), row.id).await?;
            Ok(Some(row.into_user(markets)))
        }
        None => Ok(None),
    }
}

/// The user with this email and their password hash, for logging in.
pub async fn find_for_login(db: &Db, email: &str) -> sqlx::Result<Option<(User, String)>> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let row: Option<(i64, String)> =
        sqlx::query_as("select id, password_hash from users where email = $1")
            .bind(&email)
            .fetch_optional(db.pool())
            .await?;
    match row {
        Some((id, hash)) => Ok(find(db, id).await?.map(|u| (u, hash))),
        None => Ok(None),
    }
}

/// Every user, ordered by email.
pub async fn list(db: &Db) -> sqlx::Result<Vec<User>> {
    let rows: Vec<UserRow> =
        sqlx::query_as(&format!("select {USER_COLUMNS} from users order by email"))
            .fetch_all(db.pool())
            .await?;
    let scopes: Vec<(i64, String)> = sqlx::query_as("select user_id, market from user_markets")
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let markets = scopes
                .iter()
                .filter(|(uid, _)| *uid == row.id)
                .filter_map(|(_, m)| m.parse().ok())
                .collect();
            row.into_user(markets)
        })
        .collect())
}

/// Emails of enabled users that still have the published demo credentials.
pub async fn enabled_demo_accounts(db: &Db) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select email from users where demo_credentials = $1 and disabled = $2 order by email",
    )
    .bind(true)
    .bind(false)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}

/// Whether `e` is a unique-constraint violation (on either backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "ana@localhost",
            "a b@x.com",
            "ana@x.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(check_time_zone(" Asia/Tokyo ").unwrap(), "Asia/Tokyo");
        assert_eq!(check_time_zone("UTC").unwrap(), "UTC");
        for bad in ["", "Mars/Base", "+09:00", "JST9"] {
            let e = check_time_zone(bad).unwrap_err().to_string();
            assert!(e.starts_with("time_zone:"), "{bad}: {e}");
        }
    }

    #[test]
    fn languages_are_iso_639_1_codes_sorted_once() {
        assert_eq!(
            parse_languages("ja, EN,ja,").unwrap(),
            vec!["en".to_string(), "ja".to_string()]
        );
        assert_eq!(parse_languages("").unwrap(), Vec::<String>::new());
        for code in ["aa", "zu", "ar", "ko", "id", "pt", "zh"] {
            assert_eq!(parse_languages(code).unwrap(), vec![code.to_string()]);
        }
        for bad in ["jp", "eng", "e", "xx", "en-US", "ｊａ"] {
            let e = parse_languages(bad).unwrap_err().to_string();
            assert!(e.starts_with("languages:"), "{bad}: {e}");
        }
    }
}
