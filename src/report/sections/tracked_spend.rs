//! Tracked spend, month to date, by provider, project, owner, GPU type and (where the cost
//! rows split it) resource.

use crate::report::blocks::Doc;
use crate::report::build::Report;

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, "Tracked spend, month to date".into());
    d.h(3, "By provider".into());
    d.amounts("provider", &r.by_provider, r.top);
    d.h(3, "By project".into());
    d.amounts("project", &r.by_project, r.top);
    d.h(3, "By owner".into());
    d.amounts("owner", &r.by_owner, r.top);
    d.h(3, "By GPU type".into());
    d.amounts("GPU type", &r.by_gpu_type, r.top);
    if !r.by_resource.is_empty() {
        d.h(3, "Podstack by resource".into());
        d.amounts("resource", &r.by_resource, r.top);
    }
}
