//! Small edits of SIP header values that several parts of the PBX make.

use sip::message::NameAddr;

/// Adds `;tag=` to a To/From header value unless it already has one.
pub(crate) fn with_tag(header: &str, tag: &str) -> String {
    match NameAddr::parse(header) {
        Ok(mut na) => {
            if na.tag().is_none() {
                na.params.set("tag", Some(tag));
            }
            na.to_string()
        }
        Err(_) => format!("{header};tag={tag}"),
    }
}
