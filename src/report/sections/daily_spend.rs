//! Daily spend: where the two daily charts go (by provider, by project; HTML only).

use crate::report::blocks::Doc;
use crate::report::build::Report;

pub fn add(_r: &Report, d: &mut Doc) {
    d.h(2, "Daily spend".into());
    d.chart("daily_provider");
    d.chart("daily_project");
}
