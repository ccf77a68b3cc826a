//! Pieces the pages share: the navigation, the access guard, form controls, number
//! formatting, the chart figure, and an ad's marked text and score bars.

pub mod access;
pub mod ad_text;
pub mod chart;
pub mod format;
pub mod forms;
pub mod nav;
pub mod time;

pub use access::{Forbidden, Guarded};
pub use chart::ChartFigure;
pub use forms::{ErrorNote, MarketPicker, RoleSelect, market_codes};
pub use nav::Sidebar;
pub use time::When;
