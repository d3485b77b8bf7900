//! The Replaces header (RFC 3891) carried in a Refer-To URI of an attended
//! transfer: which dialog the new call replaces.

/// The parts of a Replaces value (RFC 3891): Call-ID, to-tag, from-tag.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
}

/// Parses the `Replaces=` header of a Refer-To URI (percent-encoded).
pub(crate) fn parse_replaces(uri_headers: &str) -> Result<Option<Replaces>, String> {
    for part in uri_headers.split('&') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("replaces") {
            continue;
        }
        let value = sip::message::percent_decode(value);
        let mut fields = value.split(';');
        let call_id = fields.next().unwrap_or("").trim().to_string();
        let (mut to_tag, mut from_tag) = (None, None);
        for f in fields {
            if let Some((k, v)) = f.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "to-tag" => to_tag = Some(v.trim().to_string()),
                    "from-tag" => from_tag = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        return match (call_id.is_empty(), to_tag, from_tag) {
            (false, Some(to_tag), Some(from_tag)) => Ok(Some(Replaces {
                call_id,
                to_tag,
                from_tag,
            })),
            _ => Err(format!(
                "expected Replaces=call-id;to-tag=…;from-tag=…, found `{value}`"
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_is_decoded_from_the_refer_to_uri() {
        let r = parse_replaces("Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34")
            .unwrap()
            .unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "abc@host".into(),
                to_tag: "12".into(),
                from_tag: "34".into()
            }
        );
    }

    #[test]
    fn replaces_tags_may_come_in_any_order_and_other_headers_are_skipped() {
        let r = parse_replaces("Require=replaces&Replaces=x%3Bfrom-tag%3Df%3Bto-tag%3Dt")
            .unwrap()
            .unwrap();
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("t", "f"));
    }

    #[test]
    fn replaces_without_tags_is_an_error_naming_what_was_found() {
        let e = parse_replaces("Replaces=only-call-id").unwrap_err();
        assert!(e.contains("only-call-id"), "{e}");
        assert_eq!(parse_replaces("Priority=urgent").unwrap(), None);
    }
}
