//! What a dialplan reload changed in the numbering, for the log book: extensions that took a
//! new number (their old one now in `previous_numbers`) and numbers newly retired.

use dialplan::Plan;

/// One change, as the log book writes it: the number concerned and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberChange {
    /// The old or retired number.
    pub subject: String,
    /// What happened, in words.
    pub detail: String,
}

/// The numbering changes from `old` to `new` (nothing for the first plan of a run).
pub fn between(old: Option<&Plan>, new: &Plan) -> Vec<NumberChange> {
    let Some(old) = old else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for ext in new.extensions() {
        for previous in &ext.previous_numbers {
            let known = old
                .renumbered(previous)
                .is_some_and(|e| e.number == ext.number);
            if !known {
                changes.push(NumberChange {
                    subject: previous.clone(),
                    detail: format!("number {previous} changed to {} ({})", ext.number, ext.name),
                });
            }
        }
    }
    for number in new.retired_numbers().filter(|n| !old.is_retired(n)) {
        changes.push(NumberChange {
            subject: number.to_string(),
            detail: format!("number {number} retired"),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    struct AnyPrompt;
    impl dialplan::PromptChecker for AnyPrompt {
        fn check(&self, _: &Path) -> Result<(), String> {
            Ok(())
        }
        fn check_directory(&self, _: &Path) -> Result<(), String> {
            Ok(())
        }
    }

    fn plan(extensions: &str, retired: &str) -> Plan {
        let text = format!(
            "extensions:\n{extensions}\nranges:\n  - numbers: 8101-8103\n    name: Room {{number}}\n    password: room-pw-{{number}}-x\n    kind: room\n{retired}"
        );
        dialplan::load_str(&text, "t.yaml", Path::new("/srv"), &AnyPrompt)
            .unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn a_renumbering_and_a_retirement_are_logged_once() {
        let before = plan(
            "  - number: 203\n    name: Housekeeping\n    password: a-long-secret-1",
            "",
        );
        let after = plan(
            "  - number: 204\n    name: Housekeeping\n    password: a-long-secret-1\n    previous_numbers: [203]",
            "retired: [8103]\n",
        );
        assert_eq!(between(None, &after), []);
        assert_eq!(
            between(Some(&before), &after),
            [
                NumberChange {
                    subject: "203".into(),
                    detail: "number 203 changed to 204 (Housekeeping)".into()
                },
                NumberChange {
                    subject: "8103".into(),
                    detail: "number 8103 retired".into()
                },
            ]
        );
        assert_eq!(
            between(Some(&after), &after),
            [],
            "a second reload logs nothing"
        );
    }
}
